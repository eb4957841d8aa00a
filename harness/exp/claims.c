/* The paper's claims checked on an experiment's arms, paired by seed (see claims.h). */
#include "exp/claims.h"

#include "core/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*arm_pred)(const hx_arm *a);

static int default_importance(const hx_arm *a)
{
    return a->importance.opts.batch_agg == HX_AGG_L2 && a->importance.opts.seq_agg == HX_AGG_MEAN &&
           a->prune.method != HX_PRUNE_RANDOM;
}
static int plain_kd(const hx_arm *a)
{
    return !a->kd.reverse_kl && a->kd.w_ce == 0 && a->kd.n_intermediate == 0 && a->kd.temperature == 1;
}
static int kd_width(const hx_arm *a) { return a->kind == HX_ARM_PRUNE_KD && plain_kd(a) && default_importance(a); }
static int ce_width(const hx_arm *a) { return a->kind == HX_ARM_PRUNE_CE && default_importance(a); }
static int scratch(const hx_arm *a) { return a->kind == HX_ARM_SCRATCH; }
static int random_kd(const hx_arm *a)
{
    return plain_kd(a) && (a->kind == HX_ARM_RANDOM_KD || (a->kind == HX_ARM_PRUNE_KD && a->prune.method == HX_PRUNE_RANDOM));
}
static int pruned(const hx_arm *a) { return a->kind == HX_ARM_PRUNE_CE || a->kind == HX_ARM_PRUNE_KD; }
static int agg_l2_mean(const hx_arm *a)
{
    return pruned(a) && a->importance.opts.batch_agg == HX_AGG_L2 && a->importance.opts.seq_agg == HX_AGG_MEAN;
}
static int agg_l2_l2(const hx_arm *a)
{
    return pruned(a) && a->importance.opts.batch_agg == HX_AGG_L2 && a->importance.opts.seq_agg == HX_AGG_L2;
}
static int iterative(const hx_arm *a) { return a->kind == HX_ARM_ITERATIVE_KD && plain_kd(a); }
static int depth(const hx_arm *a) { return a->kind == HX_ARM_DEPTH_KD && plain_kd(a); }
static int reverse_kl(const hx_arm *a) { return a->kind == HX_ARM_PRUNE_KD && a->kd.reverse_kl && a->kd.w_ce == 0; }
static int ce_plus_kl(const hx_arm *a) { return a->kind == HX_ARM_PRUNE_KD && !a->kd.reverse_kl && a->kd.w_ce > 0; }

/* How the right-hand arm is matched to the left-hand one. */
enum { SAME_TOKENS, MORE_TOKENS, SAME_PARAMS, NO_DIFFERENCE, UNTESTABLE };

static const struct {
    const char *claim, *source, *paper;
    arm_pred left, right;
    int match;
} defs[HX_N_CLAIMS] = {
    {"Distillation beats conventional retraining (equal tokens)", "[M-NIPS] §4.2, Best Practice #5; [P] Fig. 6",
     "[P] Fig. 6: pruning + distillation has the lowest LM loss (no table)", kd_width, ce_width, SAME_TOKENS},
    {"Retraining a pruned model beats training from scratch", "[M-NIPS] Table 1",
     "LM val loss 2.049 (pruned, retrained 1.8B tokens) vs 3.953 (random init)", ce_width, scratch, SAME_TOKENS},
    {"Importance pruning beats random pruning (both distilled)", "[P] Fig. 6",
     "random pruning + distillation above pruning + distillation (no table)", kd_width, random_kd, SAME_TOKENS},
    {"Aggregation batch L2, sequence mean beats L2, L2", "[M-NIPS] Table 11",
     "zero-shot LM loss 7.18 vs 8.73 (8T data)", agg_l2_mean, agg_l2_l2, SAME_TOKENS},
    {"Iterative pruning gives no benefit over one-shot after retraining", "[M-NIPS] Table 12",
     "val loss 1.92 for 1, 2 and 4 iterations after 1.8B tokens", iterative, kd_width, NO_DIFFERENCE},
    {"Width pruning beats depth pruning at equal parameters", "[M-NIPS] Table 1, Table 13",
     "LM val loss 2.049 (width) vs 2.155 (depth) after 1.8B tokens", kd_width, depth, SAME_PARAMS},
    {"Distillation on fewer tokens beats CE on more (equal compute)", "[M-NIPS] Table 14",
     "MMLU 37.81 (distil, 100B*) vs 24.57 (CE, 150B*); * equal compute", kd_width, ce_width, MORE_TOKENS},
    {"Forward KL beats reverse KL", "[M-NIPS] Table 16", "LM loss 2.155 (KLD) vs 2.665 (RKLD)", kd_width,
     reverse_kl, SAME_TOKENS},
    {"KL alone beats CE + KL", "[M-NIPS] Table 15", "LM loss 2.107 (KLD) vs 2.117 (CE + KLD)", kd_width,
     ce_plus_kl, SAME_TOKENS},
    {"Teacher correction lowers the student's loss", "[P] Insight 1, Fig. 4",
     "over 6% lower LM validation loss", NULL, NULL, UNTESTABLE},
};

/* Final val loss of every seed of group `g`: seeds[k], loss[k]. */
static int group_values(hx_h5log *log, const hx_plan *p, const char *g, uint64_t *seeds, double *loss, int max)
{
    int n = 0;
    for (int i = 0; i < p->n_arms && n < max; i++) {
        const hx_arm *a = p->arms[i].arm;
        if (strcmp(a->group, g)) continue;
        char table[300];
        snprintf(table, sizeof table, "arms/%s/eval", a->name);
        double v = hx_h5log_last(log, table, "val_loss");
        if (isnan(v)) continue;
        seeds[n] = a->seed;
        loss[n++] = v;
    }
    return n;
}

/* Index of the first arm (plan order) after `from` matching `f`, with an eval
 * row, outside the groups of arms [0, from) already tried for this side when
 * `ref` is NULL, and satisfying the match rule against arm `ref` otherwise;
 * -1 if none. */
static int find_arm(hx_h5log *log, const hx_plan *p, arm_pred f, const hx_arm_plan *ref, int match, int from)
{
    for (int i = from; i < p->n_arms; i++) {
        const hx_arm *a = p->arms[i].arm;
        if (a->kind == HX_ARM_TEACHER || !f(a)) continue;
        if (ref && (match == SAME_TOKENS || match == SAME_PARAMS) && a->train.tokens != ref->arm->train.tokens)
            continue;
        if (ref && match == MORE_TOKENS && a->train.tokens <= ref->arm->train.tokens) continue;
        if (ref && !strcmp(a->group, ref->arm->group)) continue;
        int seen = 0; /* a group already taken as a left-hand side */
        for (int j = 0; !ref && j < i && !seen; j++) seen = !strcmp(p->arms[j].arm->group, a->group) && f(p->arms[j].arm);
        if (seen) continue;
        char table[300];
        snprintf(table, sizeof table, "arms/%s/eval", a->name);
        if (!isnan(hx_h5log_last(log, table, "val_loss"))) return i;
    }
    return -1;
}

static double per_token_flops(const hx_arm_plan *ap)
{
    return ap->arm->train.tokens > 0 ? (ap->flops.train + ap->flops.teacher) / (double)ap->arm->train.tokens : 0;
}

static void row_init(int k, hx_claim_row *r)
{
    memset(r, 0, sizeof *r);
    r->claim = defs[k].claim;
    r->source = defs[k].source;
    r->paper = defs[k].paper;
    r->verdict = HX_WITHIN_NOISE;
    r->diff = hx_mean_interval(NULL, 0);
    if (defs[k].match == UNTESTABLE) snprintf(r->note, sizeof r->note, "needs two runs: teacher.correction.tokens 0 and > 0");
}

/* Claim k on the groups of arms L (left) and R (right), paired by seed. */
static void compare(hx_h5log *log, const hx_plan *p, int k, const hx_arm_plan *L, const hx_arm_plan *R, hx_claim_row *r)
{
    row_init(k, r);
    r->tested = 1;
    snprintf(r->left, sizeof r->left, "%s", L->arm->group);
    snprintf(r->right, sizeof r->right, "%s", R->arm->group);
    enum { MAX = 256 };
    uint64_t sl[MAX], sr[MAX];
    double vl[MAX], vr[MAX], d[MAX];
    int nl = group_values(log, p, L->arm->group, sl, vl, MAX), nr = group_values(log, p, R->arm->group, sr, vr, MAX), n = 0;
    for (int i = 0; i < nl; i++)
        for (int j = 0; j < nr; j++)
            if (sl[i] == sr[j]) d[n++] = vl[i] - vr[j];
    r->diff = hx_mean_interval(d, n);
    r->verdict = hx_verdict_less(&r->diff, defs[k].match == NO_DIFFERENCE);
    if (defs[k].match == SAME_PARAMS) {
        double rel = (double)L->student_params / (double)R->student_params - 1;
        snprintf(r->note, sizeof r->note, "params %.2fM vs %.2fM (%+.1f%%)", L->student_params / 1e6,
                 R->student_params / 1e6, 100 * rel);
        if (fabs(rel) > 0.05) {
            r->verdict = HX_WITHIN_NOISE;
            snprintf(r->note + strlen(r->note), sizeof r->note - strlen(r->note), ": not comparable (needs ±5%%)");
        }
    } else if (defs[k].match == MORE_TOKENS) {
        double fl = per_token_flops(L) * (double)L->arm->train.tokens, fr = per_token_flops(R) * (double)R->arm->train.tokens;
        double ratio = fr > 0 ? fl / fr : NAN;
        snprintf(r->note, sizeof r->note, "tokens %lld vs %lld; training FLOPs %.3g vs %.3g (ratio %.2f)",
                 (long long)L->arm->train.tokens, (long long)R->arm->train.tokens, fl, fr, ratio);
        if (!(ratio >= 0.8 && ratio <= 1.25)) { /* equal compute within 25% */
            r->verdict = HX_WITHIN_NOISE;
            snprintf(r->note + strlen(r->note), sizeof r->note - strlen(r->note), ": not comparable (needs 0.8-1.25)");
        }
    }
    if (n < 2 && !strstr(r->note, "not comparable"))
        snprintf(r->note + strlen(r->note), sizeof r->note - strlen(r->note), "%sone seed: no interval",
                 r->note[0] ? "; " : "");
}

int hx_claims_eval(hx_h5log *log, const hx_plan *plan, hx_claim_row *rows, int max)
{
    int n = 0;
    for (int k = 0; k < HX_N_CLAIMS && n < max; k++) {
        int before = n;
        for (int li = 0; defs[k].match != UNTESTABLE && n < max;) {
            li = find_arm(log, plan, defs[k].left, NULL, defs[k].match, li);
            if (li < 0) break;
            int ri = find_arm(log, plan, defs[k].right, &plan->arms[li], defs[k].match, 0);
            if (ri >= 0) compare(log, plan, k, &plan->arms[li], &plan->arms[ri], &rows[n++]);
            li++;
        }
        if (n == before) row_init(k, &rows[n++]);
    }
    return n;
}

/* The eval curve (tokens, val_loss) of arm `a`; n = 0 when absent. */
static int64_t curve(hx_h5log *log, const hx_arm *a, double **tok, double **loss)
{
    char table[300];
    snprintf(table, sizeof table, "arms/%s/eval", a->name);
    int64_t n = 0, m = 0;
    *tok = *loss = NULL;
    if (hx_h5log_read_column(log, table, "tokens", tok, &n) < 0 || hx_h5log_read_column(log, table, "val_loss", loss, &m) < 0 ||
        n != m) {
        hx_clearerr();
        return 0;
    }
    return n;
}

int hx_claims_token_ratio(hx_h5log *log, const hx_plan *p, char *buf, size_t len)
{
    buf[0] = 0;
    int ki = find_arm(log, p, kd_width, NULL, SAME_TOKENS, 0), si = -1;
    for (int i = 0; i < p->n_arms; i++) /* the longest scratch run */
        if (p->arms[i].arm->kind == HX_ARM_SCRATCH && (si < 0 || p->arms[i].arm->train.tokens > p->arms[si].arm->train.tokens))
            si = i;
    if (ki < 0 || si < 0) return 0;
    const hx_arm_plan *K = &p->arms[ki], *S = &p->arms[si];
    double *kt, *kl, *st, *sl;
    int64_t kn = curve(log, K->arm, &kt, &kl), sn = curve(log, S->arm, &st, &sl);
    int ok = kn > 0 && sn > 0;
    if (ok) {
        double target = kl[kn - 1], kd_tokens = kt[kn - 1], need = NAN;
        for (int64_t i = 1; i < sn && isnan(need); i++)
            if (sl[i] <= target) /* linear between the two eval points around the crossing */
                need = st[i - 1] + (st[i] - st[i - 1]) * (sl[i - 1] - target) / (sl[i - 1] - sl[i]);
        double kd_flops = K->flops.train + K->flops.teacher + K->flops.importance;
        if (!isnan(need))
            snprintf(buf, len,
                     "Tokens to the distilled student's loss ([M-NIPS] \"up to 40x fewer training tokens\"): %s reaches "
                     "%s's final val loss %.4f after %.0f tokens, %.1fx the %.0f tokens of %s (%.1fx in FLOPs, the "
                     "teacher's forwards and importance counted).",
                     S->arm->name, K->arm->name, target, need, need / kd_tokens, kd_tokens, K->arm->name,
                     per_token_flops(S) * need / kd_flops);
        else
            snprintf(buf, len,
                     "Tokens to the distilled student's loss ([M-NIPS] \"up to 40x fewer training tokens\"): %s never "
                     "reaches %s's final val loss %.4f within its %.0f tokens: more than %.1fx the %.0f tokens of %s "
                     "(more than %.1fx in FLOPs, the teacher's forwards and importance counted).",
                     S->arm->name, K->arm->name, target, st[sn - 1], st[sn - 1] / kd_tokens, kd_tokens, K->arm->name,
                     per_token_flops(S) * st[sn - 1] / kd_flops);
    }
    free(kt), free(kl), free(st), free(sl);
    return ok;
}
