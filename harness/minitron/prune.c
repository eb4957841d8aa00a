/* Structured pruning: target validation, keep-index selection by importance
 * (or at random, as a control), and weight slicing. */
#include "minitron/prune.h"

#include "core/err.h"
#include "core/util.h"
#include "model/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_target(const char *field, int target, int src, int *out, const char **bad)
{
    if (target == 0) {
        *out = src;
        return HX_OK;
    }
    *bad = field;
    if (target < 0) return HX_ERR(HX_EINVAL, "prune target %s must be positive (got %d)", field, target);
    if (target > src)
        return HX_ERR(HX_EINVAL, "prune target %s = %d is larger than the source model's %d", field, target, src);
    *out = target;
    return HX_OK;
}

int hx_prune_target_check(const hx_config *src, const hx_prune_targets *t, hx_config *dst, const char **field)
{
    const char *unused;
    const char **bad = field ? field : &unused;
    *dst = *src;
    HX_TRY(check_target("hidden_size", t->hidden_size, src->hidden_size, &dst->hidden_size, bad));
    HX_TRY(check_target("intermediate_size", t->intermediate_size, src->intermediate_size, &dst->intermediate_size,
                        bad));
    HX_TRY(check_target("num_attention_heads", t->num_attention_heads, src->num_attention_heads,
                        &dst->num_attention_heads, bad));
    HX_TRY(check_target("num_key_value_heads", t->num_key_value_heads, src->num_key_value_heads,
                        &dst->num_key_value_heads, bad));
    if (t->n_drop_layers > 0) {
        *bad = "drop_layers";
        if (t->num_hidden_layers)
            return HX_ERR(HX_EINVAL, "prune targets: give either num_hidden_layers or drop_layers, not both");
        char *seen = hx_calloc((size_t)src->num_hidden_layers, 1);
        if (!seen) return HX_ENOMEM;
        for (int i = 0; i < t->n_drop_layers; i++) {
            int l = t->drop_layers[i];
            if (l < 0 || l >= src->num_hidden_layers || seen[l]) {
                free(seen);
                if (l >= 0 && l < src->num_hidden_layers)
                    return HX_ERR(HX_EINVAL, "prune drop_layers: layer %d is listed twice", l);
                return HX_ERR(HX_EINVAL, "prune drop_layers: layer %d does not exist (the source has %d layers, [0, %d))",
                              l, src->num_hidden_layers, src->num_hidden_layers);
            }
            seen[l] = 1;
        }
        free(seen);
        if (t->n_drop_layers >= src->num_hidden_layers)
            return HX_ERR(HX_EINVAL, "prune drop_layers would remove all %d layers", src->num_hidden_layers);
        dst->num_hidden_layers = src->num_hidden_layers - t->n_drop_layers;
    } else {
        HX_TRY(check_target("num_hidden_layers", t->num_hidden_layers, src->num_hidden_layers,
                            &dst->num_hidden_layers, bad));
    }
    *bad = t->num_attention_heads || !t->num_key_value_heads ? "num_attention_heads" : "num_key_value_heads";
    /* Field case C03: every KV group keeps the same number of query heads. */
    int kv = dst->num_key_value_heads, lo = dst->num_attention_heads / kv * kv;
    if (dst->num_attention_heads % kv != 0)
        return HX_ERR(HX_EINVAL,
                      "prune targets: %d query heads cannot be split evenly over %d KV heads: every KV group must "
                      "keep the same number of query heads (try %d or %d)",
                      dst->num_attention_heads, kv, lo ? lo : kv, lo + kv);
    /* A kept KV group keeps query heads of its own group only, so a group
     * cannot end up with more query heads than a source group has. */
    int rep = src->num_attention_heads / src->num_key_value_heads;
    int per_group = dst->num_attention_heads / dst->num_key_value_heads;
    if (per_group > rep)
        return HX_ERR(HX_EINVAL,
                      "prune target %d query heads over %d KV heads needs %d per KV group, but the source's groups "
                      "have only %d (%d heads over %d KV heads): keep at most %d query heads, or more KV heads",
                      dst->num_attention_heads, dst->num_key_value_heads, per_group, rep, src->num_attention_heads,
                      src->num_key_value_heads, rep * dst->num_key_value_heads);
    *bad = NULL;
    dst->head_dim = src->head_dim; /* C02: never derived from hidden/heads */
    return hx_config_validate(dst);
}

int hx_prune_target_config(const hx_config *src, const hx_prune_targets *t, hx_config *dst)
{
    return hx_prune_target_check(src, t, dst, NULL);
}

/* Sorts idx[0..n) by descending score (ties: lower index first). */
static const double *g_sort_scores;
static int by_score_desc(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    double si = g_sort_scores[i], sj = g_sort_scores[j];
    if (si != sj) return si > sj ? -1 : 1;
    return i - j;
}
static int by_index(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

const char *hx_prune_axis_name(hx_prune_axis a)
{
    static const char *const names[] = {"layer", "channel", "kv_group", "head", "neuron"};
    return (unsigned)a <= HX_AXIS_NEURON ? names[a] : "?";
}

/* Records a tie at the cut in `p` when the last kept and the first dropped
 * candidates score within HX_PRUNE_TIE_RTOL of each other. */
static int note_tie(hx_prune_plan *p, hx_prune_axis axis, int layer, int kept, double ks, int dropped, double ds)
{
    double scale = fabs(ks) > fabs(ds) ? fabs(ks) : fabs(ds);
    if (!(fabs(ks - ds) <= HX_PRUNE_TIE_RTOL * scale)) return HX_OK;
    hx_prune_tie *t = realloc(p->ties, sizeof *t * (size_t)(p->n_ties + 1));
    if (!t) return HX_ERR(HX_ENOMEM, "out of memory");
    p->ties = t;
    p->ties[p->n_ties++] = (hx_prune_tie){axis, layer, kept, dropped, ks, ds};
    return HX_OK;
}

/* Writes to out[0..k) the indices of the k best of scores[0..n), ascending,
 * noting a tie at the cut in `p` (when non-NULL) for `axis`/`layer`; index
 * i is reported as base + i. */
static int top_k(const double *scores, int n, int k, int *out, hx_prune_plan *p, hx_prune_axis axis, int layer,
                 int base)
{
    int *idx = hx_malloc((size_t)n * sizeof(int));
    if (!idx) return HX_ENOMEM;
    for (int i = 0; i < n; i++) idx[i] = i;
    g_sort_scores = scores;
    qsort(idx, (size_t)n, sizeof(int), by_score_desc);
    int rc = p && k > 0 && k < n ? note_tie(p, axis, layer, base + idx[k - 1], scores[idx[k - 1]], base + idx[k],
                                            scores[idx[k]])
                                 : HX_OK;
    memcpy(out, idx, (size_t)k * sizeof(int));
    qsort(out, (size_t)k, sizeof(int), by_index);
    free(idx);
    return rc;
}

int hx_prune_removed_layers(const hx_prune_plan *p, int *out)
{
    int n = 0;
    for (int l = 0, j = 0; l < p->src.num_hidden_layers; l++) {
        if (j < p->dst.num_hidden_layers && p->keep_layers[j] == l) j++;
        else out[n++] = l;
    }
    return n;
}

void hx_prune_plan_notes(FILE *f, const char *name, const hx_prune_plan *p)
{
    int *removed = hx_malloc(sizeof(int) * (size_t)(p->src.num_hidden_layers + 1));
    if (removed) {
        int n = hx_prune_removed_layers(p, removed);
        fprintf(f, "%s: removed layers (source indices):", name);
        for (int i = 0; i < n; i++) fprintf(f, " %d", removed[i]);
        fprintf(f, "%s\n", n ? "" : " none");
        free(removed);
    }
    for (int i = 0; i < p->n_ties && i < 8; i++) {
        const hx_prune_tie *t = &p->ties[i];
        char where[32] = "";
        if (t->layer >= 0) snprintf(where, sizeof where, " in layer %d", t->layer);
        fprintf(f, "warning: %s: tie at the %s cut%s: kept %d (score %.9g) and dropped %d (score %.9g) are within "
                   "%g; the higher score is kept, equal scores keep the lower index\n",
                name, hx_prune_axis_name(t->axis), where, t->kept, t->kept_score, t->dropped, t->dropped_score,
                HX_PRUNE_TIE_RTOL);
    }
    if (p->n_ties > 8) fprintf(f, "warning: %s: %d more ties at pruning cuts (all in prune/%s/ties)\n", name, p->n_ties - 8, name);
}

static int plan_alloc(hx_prune_plan *p, const hx_config *src, const hx_config *dst)
{
    memset(p, 0, sizeof *p);
    p->src = *src;
    p->dst = *dst;
    size_t L = (size_t)dst->num_hidden_layers;
    p->keep_layers = hx_malloc(L * sizeof(int));
    p->keep_channels = hx_malloc((size_t)dst->hidden_size * sizeof(int));
    p->keep_heads = hx_malloc(L * dst->num_attention_heads * sizeof(int));
    p->keep_kv = hx_malloc(L * dst->num_key_value_heads * sizeof(int));
    p->keep_neurons = hx_malloc(L * dst->intermediate_size * sizeof(int));
    if (!p->keep_layers || !p->keep_channels || !p->keep_heads || !p->keep_kv || !p->keep_neurons) {
        hx_prune_plan_free(p);
        return HX_ENOMEM;
    }
    return HX_OK;
}

void hx_prune_plan_free(hx_prune_plan *p)
{
    free(p->keep_layers);
    free(p->keep_channels);
    free(p->keep_heads);
    free(p->keep_kv);
    free(p->keep_neurons);
    free(p->ties);
    memset(p, 0, sizeof *p);
}

/* Chooses the heads of one layer: the KV groups to keep, then within each kept
 * group its best query heads. `head` holds the layer's query-head scores. */
static int choose_heads(const hx_config *src, const hx_config *dst, const double *head, int *keep_kv,
                        int *keep_heads, hx_prune_plan *p, int layer)
{
    int rep = src->num_attention_heads / src->num_key_value_heads;
    int per_group = dst->num_attention_heads / dst->num_key_value_heads; /* <= rep: hx_prune_target_config */
    double *group = hx_calloc((size_t)src->num_key_value_heads, sizeof(double));
    if (!group) return HX_ENOMEM;
    for (int h = 0; h < src->num_attention_heads; h++) group[h / rep] += head[h];
    int rc = top_k(group, src->num_key_value_heads, dst->num_key_value_heads, keep_kv, p, HX_AXIS_KV_GROUP, layer, 0);
    free(group);
    HX_TRY(rc);
    for (int g = 0; g < dst->num_key_value_heads; g++) {
        int sg = keep_kv[g];
        HX_TRY(top_k(head + (size_t)sg * rep, rep, per_group, keep_heads + (size_t)g * per_group, p, HX_AXIS_HEAD,
                     layer, sg * rep));
        for (int j = 0; j < per_group; j++) keep_heads[g * per_group + j] += sg * rep;
    }
    return HX_OK;
}

int hx_prune_plan_build(const hx_config *src, const hx_scores *s, const hx_prune_targets *t, hx_prune_plan *p)
{
    hx_config dst;
    HX_TRY(hx_prune_target_config(src, t, &dst));
    HX_TRY(plan_alloc(p, src, &dst));
    int rc = HX_OK;
    if (t->n_drop_layers > 0) {
        int n = 0;
        for (int l = 0; l < src->num_hidden_layers; l++) {
            int dropped = 0;
            for (int i = 0; i < t->n_drop_layers; i++) dropped |= t->drop_layers[i] == l;
            if (!dropped) p->keep_layers[n++] = l;
        }
    } else {
        rc = top_k(s->layer, src->num_hidden_layers, dst.num_hidden_layers, p->keep_layers, p, HX_AXIS_LAYER, -1, 0);
    }
    if (rc == HX_OK) rc = top_k(s->channel, src->hidden_size, dst.hidden_size, p->keep_channels, p, HX_AXIS_CHANNEL, -1, 0);
    for (int l = 0; rc == HX_OK && l < dst.num_hidden_layers; l++) {
        int sl = p->keep_layers[l];
        rc = choose_heads(src, &dst, s->head + (size_t)sl * src->num_attention_heads,
                          p->keep_kv + (size_t)l * dst.num_key_value_heads,
                          p->keep_heads + (size_t)l * dst.num_attention_heads, p, sl);
        if (rc == HX_OK)
            rc = top_k(s->neuron + (size_t)sl * src->intermediate_size, src->intermediate_size,
                       dst.intermediate_size, p->keep_neurons + (size_t)l * dst.intermediate_size, p, HX_AXIS_NEURON,
                       sl, 0);
    }
    if (rc != HX_OK) hx_prune_plan_free(p);
    return rc;
}

int hx_prune_plan_random(const hx_config *src, const hx_prune_targets *t, hx_rng *rng, hx_prune_plan *p)
{
    hx_scores s;
    HX_TRY(hx_scores_alloc(&s, src));
    double *arrays[] = {s.layer, s.head, s.neuron, s.channel};
    size_t lens[] = {(size_t)s.num_layers, (size_t)s.num_layers * s.num_heads,
                     (size_t)s.num_layers * s.intermediate_size, (size_t)s.hidden_size};
    for (int a = 0; a < 4; a++)
        for (size_t i = 0; i < lens[a]; i++) arrays[a][i] = hx_rng_uniform(rng);
    int rc = hx_prune_plan_build(src, &s, t, p);
    hx_scores_free(&s);
    if (rc == HX_OK) { /* a random plan has no cut to tie at */
        free(p->ties);
        p->ties = NULL;
        p->n_ties = 0;
    }
    return rc;
}

/* dst[r][c] = src[rows[r]][cols[c]] for a row-major matrix with src_cols
 * columns; a NULL index list means "all, in order". */
static void gather(float *dst, const float *src, int src_cols, const int *rows, int n_rows, const int *cols,
                   int n_cols)
{
    for (int r = 0; r < n_rows; r++) {
        const float *s = src + (size_t)(rows ? rows[r] : r) * src_cols;
        float *d = dst + (size_t)r * n_cols;
        for (int c = 0; c < n_cols; c++) d[c] = s[cols ? cols[c] : c];
    }
}

/* Expands head indices into the row indices of their head_dim-row blocks. */
static void head_rows(const int *heads, int n, int head_dim, int *rows)
{
    for (int i = 0; i < n; i++)
        for (int d = 0; d < head_dim; d++) rows[i * head_dim + d] = heads[i] * head_dim + d;
}

/* Paper §2.3 head "residual" merging, applied to the kept query heads of one
 * KV group. The printed rule, for L heads pruned to K with heads sorted by
 * importance (1 = best): head_i <- head_i + (head_i - head_{2K-i+1}) for
 * i in [K-(L-K), K]. Ambiguities (minitron-facts.md §3.2): (1) the printed
 * lower bound i = 2K-L pairs with head L+1, which does not exist, so we use
 * i in [max(1, 2K-L+1), K], pairing K<->K+1, ..., 2K-L+1<->L; (2) the paper does
 * not say whether it acts on weights or outputs; "in case of grouped query
 * attention, we apply this strategy only to the query heads" suggests the query
 * projection, so we apply it to q_proj rows: W_q[i] <- 2 W_q[i] - W_q[2K-i+1].
 * No public implementation has it (ModelOpt does not). Off by default.
 *   q_dst: the kept group's rows already sliced, [per_group*head_dim, hidden_dst]
 *   q_src: the source layer's q_proj, [heads*head_dim, hidden_src] */
static int merge_head_residual(float *q_dst, const float *q_src, const hx_config *sc, const hx_config *dc,
                               const int *keep_channels, const double *layer_head_scores, int src_group,
                               const int *kept)
{
    int rep = sc->num_attention_heads / sc->num_key_value_heads;
    int per_group = dc->num_attention_heads / dc->num_key_value_heads, hd = sc->head_dim;
    int *order = hx_malloc((size_t)rep * sizeof(int));
    if (!order) return HX_ENOMEM;
    for (int i = 0; i < rep; i++) order[i] = src_group * rep + i;
    g_sort_scores = layer_head_scores;
    qsort(order, (size_t)rep, sizeof(int), by_score_desc);
    int first = 2 * per_group - rep + 1;
    for (int i = first < 1 ? 1 : first; i <= per_group; i++) {
        int best = order[i - 1], pruned = order[2 * per_group - i];
        int pos = 0;
        while (pos < per_group && kept[pos] != best) pos++;
        if (pos == per_group) {
            free(order);
            return HX_ERR(HX_EINVAL, "head residual merging needs a plan built from the same head scores");
        }
        for (int d = 0; d < hd; d++) {
            float *row = q_dst + (size_t)(pos * hd + d) * dc->hidden_size;
            const float *pr = q_src + (size_t)(pruned * hd + d) * sc->hidden_size;
            for (int c = 0; c < dc->hidden_size; c++) row[c] = 2.0f * row[c] - pr[keep_channels[c]];
        }
    }
    free(order);
    return HX_OK;
}

int hx_prune_apply(const hx_model *src, const hx_prune_plan *p, const hx_scores *residual_scores, hx_model *dst)
{
    const hx_config *sc = &p->src, *dc = &p->dst;
    HX_TRY(hx_model_alloc(dst, dc));
    char why[256];
    if (!hx_config_hf5_loadable(dc, why, sizeof why)) fprintf(stderr, "warning: pruned model: %s\n", why);
    int hs = sc->hidden_size, hd = sc->head_dim, H = dc->hidden_size, F = dc->intermediate_size;
    int nq = dc->num_attention_heads, nkv = dc->num_key_value_heads;
    const int *ch = p->keep_channels;
    int *qrows = hx_malloc((size_t)nq * hd * sizeof(int)), *kvrows = hx_malloc((size_t)nkv * hd * sizeof(int));
    if (!qrows || !kvrows) {
        free(qrows);
        free(kvrows);
        hx_model_free(dst);
        return HX_ENOMEM;
    }
    gather(dst->embed_tokens, src->embed_tokens, hs, NULL, sc->vocab_size, ch, H);
    gather(dst->norm, src->norm, hs, NULL, 1, ch, H);
    if (!dc->tie_word_embeddings) gather(dst->lm_head, src->lm_head, hs, NULL, sc->vocab_size, ch, H);
    int rc = HX_OK;
    for (int l = 0; l < dc->num_hidden_layers && rc == HX_OK; l++) {
        const hx_layer *S = &src->layers[p->keep_layers[l]];
        hx_layer *D = &dst->layers[l];
        const int *heads = p->keep_heads + (size_t)l * nq, *kv = p->keep_kv + (size_t)l * nkv;
        const int *neurons = p->keep_neurons + (size_t)l * F;
        head_rows(heads, nq, hd, qrows);
        head_rows(kv, nkv, hd, kvrows);
        gather(D->input_layernorm, S->input_layernorm, hs, NULL, 1, ch, H);
        gather(D->post_attention_layernorm, S->post_attention_layernorm, hs, NULL, 1, ch, H);
        gather(D->q_proj, S->q_proj, hs, qrows, nq * hd, ch, H);
        gather(D->k_proj, S->k_proj, hs, kvrows, nkv * hd, ch, H);
        gather(D->v_proj, S->v_proj, hs, kvrows, nkv * hd, ch, H);
        gather(D->o_proj, S->o_proj, sc->num_attention_heads * hd, ch, H, qrows, nq * hd);
        gather(D->gate_proj, S->gate_proj, hs, neurons, F, ch, H);
        gather(D->up_proj, S->up_proj, hs, neurons, F, ch, H);
        gather(D->down_proj, S->down_proj, sc->intermediate_size, ch, H, neurons, F);
        if (residual_scores) {
            int per_group = nq / nkv;
            const double *hsc = residual_scores->head + (size_t)p->keep_layers[l] * sc->num_attention_heads;
            for (int g = 0; g < nkv && rc == HX_OK; g++)
                rc = merge_head_residual(D->q_proj + (size_t)g * per_group * hd * H, S->q_proj, sc, dc, ch, hsc,
                                         kv[g], heads + g * per_group);
        }
    }
    free(qrows);
    free(kvrows);
    if (rc != HX_OK) hx_model_free(dst);
    return rc;
}

int hx_prune_save(const hx_model *src, const hx_prune_plan *p, const hx_scores *residual_scores, hx_dtype dtype,
                  const char *tokenizer, const char *dir)
{
    hx_model student;
    HX_TRY(hx_prune_apply(src, p, residual_scores, &student));
    int rc = hx_model_save(dir, &student, dtype, 0);
    hx_model_free(&student);
    char *tk = rc == HX_OK && tokenizer ? hx_path_join(dir, "tokenizer.json") : NULL;
    if (rc == HX_OK && tokenizer) rc = tk ? hx_copy_file(tokenizer, tk) : HX_ENOMEM;
    free(tk);
    return rc;
}
