/* Evaluation of a model on a configured set of perplexity sources and
 * multiple-choice tasks; the trainer's eval hook; settings as HDF5 attributes. */
#include "eval/evaluate.h"

#include "core/dist.h"
#include "core/err.h"
#include "core/parse.h"
#include "data/ingest.h"
#include "data/shard.h"
#include "eval/mc_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const hx_eval_task_metrics[3] = {"acc", "acc_norm", "acc_bytes"};

typedef struct {
    hx_eval_task t;     /* strings owned below */
    hx_task_set set;
    hx_mc_item *items;  /* [n_items] */
    int n_items;
    hx_ll_request *req; /* every item's requests back to back (pointers into items) */
    int n_req;
    int max_choices;
} task_state;

struct hx_evaluator {
    hx_eval_config cfg; /* strings and arrays owned */
    char **texts;
    hx_eval_task *tasks;
    task_state *ts;
    const hx_tokenizer *tok;
};

static int valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > HX_EVAL_NAME_MAX) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("_.-", *p)))
            return 0;
    return strcmp(s, "ppl") != 0; /* "ppl." is the perplexity columns' prefix */
}

static char *dup_or_null(const char *s, int *rc)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *rc = HX_ERR(HX_ENOMEM, "out of memory");
    return d;
}

static int check_config(const hx_eval_config *c)
{
    if (c->n_tasks < 0 || c->n_texts < 0 || c->doc_limit < 0)
        return HX_ERR(HX_EINVAL, "eval: negative n_tasks, n_texts or doc_limit");
    if (c->ppl.window < 0 || c->ppl.stride < 0 || (c->ppl.window > 0 && c->ppl.stride > c->ppl.window))
        return HX_ERR(HX_EINVAL, "eval: perplexity stride %d must be in 1..window %d", c->ppl.stride, c->ppl.window);
    for (int i = 0; i < c->n_tasks; i++) {
        const hx_eval_task *t = &c->tasks[i];
        if (!valid_name(t->name))
            return HX_ERR(HX_EINVAL, "eval: task %d: name \"%s\" must be 1..%d characters of [A-Za-z0-9_.-] and not \"ppl\"",
                          i, t->name ? t->name : "", HX_EVAL_NAME_MAX);
        for (int j = 0; j < i; j++)
            if (!strcmp(c->tasks[j].name, t->name)) return HX_ERR(HX_EINVAL, "eval: task name \"%s\" is used twice", t->name);
        if (!t->path) return HX_ERR(HX_EINVAL, "eval: task %s: no path", t->name);
        if (t->n_shot < 0 || t->limit < 0 || t->ll.max_length < 0 || t->ll.batch < 0)
            return HX_ERR(HX_EINVAL, "eval: task %s: n_shot, limit, max_length and batch must be >= 0", t->name);
    }
    return HX_OK;
}

/* Loads one task file and builds its prompts. */
static int load_task(task_state *s)
{
    const hx_eval_task *t = &s->t;
    HX_TRY(hx_task_load(t->path, t->kind, &s->set));
    int n = t->limit > 0 && t->limit < s->set.n_docs ? t->limit : s->set.n_docs;
    s->items = hx_calloc((size_t)(n > 0 ? n : 1), sizeof(hx_mc_item));
    if (!s->items) return HX_ENOMEM;
    hx_prompt_opts po = {t->n_shot, t->seed, t->target_delimiter, NULL, NULL};
    for (int i = 0; i < n; i++) {
        HX_TRY(hx_task_build_item(&s->set, i, &po, &s->items[i]));
        s->n_items++;
        s->n_req += s->items[i].n_choices;
        if (s->items[i].n_choices > s->max_choices) s->max_choices = s->items[i].n_choices;
    }
    s->req = hx_calloc((size_t)(s->n_req > 0 ? s->n_req : 1), sizeof(hx_ll_request));
    if (!s->req) return HX_ENOMEM;
    int k = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < s->items[i].n_choices; c++) s->req[k++] = s->items[i].req[c];
    return HX_OK;
}

void hx_evaluator_close(hx_evaluator *ev)
{
    if (!ev) return;
    for (int i = 0; i < ev->cfg.n_texts; i++) free(ev->texts[i]);
    free(ev->texts);
    free((void *)ev->cfg.text_field);
    free((void *)ev->cfg.shards);
    for (int i = 0; ev->ts && i < ev->cfg.n_tasks; i++) {
        task_state *s = &ev->ts[i];
        for (int k = 0; k < s->n_items; k++) hx_mc_item_free(&s->items[k]);
        free(s->items);
        free(s->req);
        if (s->set.docs) hx_task_free(&s->set);
        free((void *)s->t.name);
        free((void *)s->t.path);
        free((void *)s->t.target_delimiter);
    }
    free(ev->ts);
    free(ev->tasks);
    free(ev);
}

int hx_evaluator_open(const hx_eval_config *cfg, const hx_tokenizer *tok, hx_evaluator **out)
{
    *out = NULL;
    HX_TRY(check_config(cfg));
    hx_evaluator *ev = hx_calloc(1, sizeof *ev);
    if (!ev) return HX_ENOMEM;
    ev->tok = tok;
    ev->cfg = *cfg;
    ev->cfg.n_texts = 0;
    ev->cfg.n_tasks = 0;
    ev->cfg.text_field = ev->cfg.shards = NULL;
    int rc = HX_OK;
    ev->texts = hx_calloc((size_t)cfg->n_texts + 1, sizeof(char *));
    ev->tasks = hx_calloc((size_t)cfg->n_tasks + 1, sizeof(hx_eval_task));
    ev->ts = hx_calloc((size_t)cfg->n_tasks + 1, sizeof(task_state));
    if (!ev->texts || !ev->tasks || !ev->ts) rc = HX_ENOMEM;
    ev->cfg.texts = (const char *const *)ev->texts;
    ev->cfg.tasks = ev->tasks;
    for (int i = 0; rc == HX_OK && i < cfg->n_texts; i++, ev->cfg.n_texts++) ev->texts[i] = dup_or_null(cfg->texts[i], &rc);
    if (rc == HX_OK) ev->cfg.text_field = dup_or_null(cfg->text_field, &rc);
    if (rc == HX_OK) ev->cfg.shards = dup_or_null(cfg->shards, &rc);
    for (int i = 0; rc == HX_OK && i < cfg->n_tasks; i++) {
        task_state *s = &ev->ts[i];
        s->t = cfg->tasks[i];
        s->t.name = dup_or_null(cfg->tasks[i].name, &rc);
        s->t.path = dup_or_null(cfg->tasks[i].path, &rc);
        s->t.target_delimiter = dup_or_null(cfg->tasks[i].target_delimiter, &rc);
        ev->cfg.n_tasks++;
        if (rc == HX_OK) rc = load_task(s);
        if (rc < 0) hx_adderr(rc, "eval: task %s", cfg->tasks[i].name);
        ev->tasks[i] = s->t;
    }
    if (rc < 0) {
        hx_evaluator_close(ev);
        return rc;
    }
    *out = ev;
    return HX_OK;
}

const hx_eval_config *hx_evaluator_config(const hx_evaluator *ev) { return &ev->cfg; }
int hx_evaluator_task_items(const hx_evaluator *ev, int i) { return ev->ts[i].n_items; }
const char *hx_evaluator_task_sha256(const hx_evaluator *ev, int i) { return ev->ts[i].set.sha256; }

/* Perplexity over the documents of the text inputs. */
static int ppl_texts(const hx_evaluator *ev, const hx_model *m, hx_eval_result *res)
{
    const hx_eval_config *c = &ev->cfg;
    hx_ingest_opts io = {c->text_field, HX_INGEST_STOP, 0, NULL};
    hx_ingest *in;
    HX_TRY(hx_ingest_open((const char *const *)c->texts, (size_t)c->n_texts, &io, &in));
    int rc = HX_OK;
    long docs = 0;
    hx_doc d;
    while (rc == HX_OK && (c->doc_limit == 0 || docs < c->doc_limit)) {
        int r = hx_ingest_next(in, &d);
        if (r <= 0) {
            rc = r;
            break;
        }
        rc = hx_ppl_text(m, ev->tok, d.text, d.len, &c->ppl, &res->ppl_sums);
        if (rc < 0) hx_adderr(rc, "%s:%llu", d.source, (unsigned long long)d.line);
        docs++;
    }
    hx_ingest_close(in);
    res->ppl_docs += docs;
    return rc;
}

/* Scores one document of a shard stream: tokens, plus bytes and words of
 * its decoded text (special tokens skipped). */
static int ppl_shard_doc(const hx_evaluator *ev, const hx_model *m, const int32_t *ids, long n, hx_eval_result *res)
{
    int32_t prefix = -1;
    if (ev->cfg.ppl.add_bos) {
        prefix = hx_tokenizer_bos_id(ev->tok) >= 0 ? hx_tokenizer_bos_id(ev->tok) : hx_tokenizer_eos_id(ev->tok);
        if (prefix < 0) return HX_ERR(HX_EINVAL, "perplexity: add_bos is set but the tokenizer has no BOS or EOS token");
    }
    char *text = NULL;
    size_t len = 0;
    HX_TRY(hx_tokenizer_decode(ev->tok, ids, (size_t)n, 1, &text, &len));
    int rc = hx_ppl_tokens(m, ids, n, prefix, &ev->cfg.ppl, &res->ppl_sums);
    res->ppl_sums.bytes += (long)len;
    res->ppl_sums.words += hx_word_count(text, len);
    free(text);
    res->ppl_docs++;
    return rc;
}

/* Perplexity over token shards: the stream is cut into documents at the
 * boundary token (EOS after or BOS before each document); the boundary
 * itself is not scored, as lm-eval's rolling log-likelihood does not score
 * an end-of-document token. */
static int ppl_shards(const hx_evaluator *ev, const hx_model *m, hx_eval_result *res)
{
    hx_dataset ds;
    HX_TRY(hx_dataset_open(ev->cfg.shards, hx_tokenizer_sha256(ev->tok), &ds));
    enum { CHUNK = 65536 };
    uint32_t boundary = ds.shards[0].boundary_token;
    size_t cap = CHUNK, len = 0;
    int32_t *chunk = hx_malloc(sizeof(int32_t) * CHUNK), *doc = hx_malloc(sizeof(int32_t) * cap);
    int rc = chunk && doc ? HX_OK : HX_ENOMEM;
    long docs = 0, limit = ev->cfg.doc_limit > 0 ? ev->cfg.doc_limit : -1;
    for (uint64_t p = 0; rc == HX_OK && docs != limit && p < ds.n_tokens; p += CHUNK) {
        size_t n = ds.n_tokens - p < CHUNK ? (size_t)(ds.n_tokens - p) : CHUNK;
        rc = hx_dataset_read(&ds, p, n, chunk);
        for (size_t i = 0; rc == HX_OK && docs != limit && i < n; i++) {
            if ((uint32_t)chunk[i] != boundary) {
                if (len == cap) {
                    int32_t *g = realloc(doc, sizeof(int32_t) * cap * 2);
                    if (!g) rc = HX_ERR(HX_ENOMEM, "out of memory (document of %zu tokens)", len);
                    else doc = g, cap *= 2;
                }
                if (rc == HX_OK) doc[len++] = chunk[i];
            } else if (len > 0) {
                rc = ppl_shard_doc(ev, m, doc, (long)len, res);
                len = 0;
                docs++;
            }
        }
    }
    if (rc == HX_OK && len > 0 && docs != limit)
        rc = ppl_shard_doc(ev, m, doc, (long)len, res);
    if (rc < 0) hx_adderr(rc, "eval: shards %s", ev->cfg.shards);
    free(chunk);
    free(doc);
    hx_dataset_close(&ds);
    return rc;
}

/* The log-likelihoods of requests [0, n): with data-parallel ranks, each
 * scores its hx_dist_shard of the requests and the results are gathered
 * (summed over ranks, every other rank contributing zeros). */
static int loglik_ranks(const hx_model *m, const hx_tokenizer *tok, const hx_ll_request *req, int n,
                        const hx_ll_opts *o, hx_ll_result *lr)
{
    if (hx_dist_size() < 2) return hx_loglik(m, tok, req, n, o, lr);
    size_t lo, hi;
    hx_dist_shard((size_t)n, hx_dist_rank(), hx_dist_size(), &lo, &hi);
    HX_TRY(hx_loglik(m, tok, req + lo, (int)(hi - lo), o, lr + lo));
    enum { F = 5 }; /* ll, is_greedy, n_cont, truncated, split_fallback */
    double *v = hx_calloc((size_t)n * F + 1, sizeof(double));
    if (!v) return HX_ENOMEM;
    for (size_t i = lo; i < hi; i++) {
        const hx_ll_result *x = &lr[i];
        double f[F] = {x->ll, x->is_greedy, x->n_cont, x->truncated, x->split_fallback};
        memcpy(v + i * F, f, sizeof f);
    }
    int rc = hx_dist_allreduce_f64(v, (size_t)n * F);
    for (int i = 0; rc == HX_OK && i < n; i++)
        lr[i] = (hx_ll_result){v[i * F], (int)v[i * F + 1], (int)v[i * F + 2], (int)v[i * F + 3], (int)v[i * F + 4]};
    free(v);
    return rc;
}

static int run_task(const task_state *s, const hx_model *m, const hx_tokenizer *tok, hx_eval_task_result *r)
{
    hx_ll_result *lr = hx_calloc((size_t)(s->n_req > 0 ? s->n_req : 1), sizeof(hx_ll_result));
    double *ll = hx_calloc((size_t)(s->max_choices > 0 ? s->max_choices : 1), sizeof(double));
    int rc = lr && ll ? loglik_ranks(m, tok, s->req, s->n_req, &s->t.ll, lr) : HX_ENOMEM;
    hx_mc_tally t = {0};
    for (int i = 0, k = 0; rc == HX_OK && i < s->n_items; i++) {
        const hx_mc_item *it = &s->items[i];
        for (int c = 0; rc == HX_OK && c < it->n_choices; c++, k++) {
            ll[c] = lr[k].ll;
            rc = hx_check_finite_d(&ll[c], 1, "log-likelihood of item %d choice %d", i, c);
            r->truncated += lr[k].truncated > 0;
            r->fallbacks += lr[k].split_fallback;
        }
        if (rc == HX_OK) hx_mc_tally_add(&t, ll, it->len_chars, it->len_bytes, it->n_choices, it->gold);
    }
    free(lr);
    free(ll);
    snprintf(r->name, sizeof r->name, "%s", s->t.name);
    r->requests = s->n_req;
    r->n = t.n;
    hx_mc_mean_stderr(&t, t.acc, &r->acc, &r->acc_stderr);
    hx_mc_mean_stderr(&t, t.acc_norm, &r->acc_norm, &r->acc_norm_stderr);
    hx_mc_mean_stderr(&t, t.acc_bytes, &r->acc_bytes, &r->acc_bytes_stderr);
    return rc;
}

/* The perplexity columns, in result order. */
static const char *const ppl_cols[4] = {"ppl.loss", "ppl.perplexity", "ppl.bits_per_byte", "ppl.word_perplexity"};

int hx_evaluator_run(hx_evaluator *ev, const hx_model *m, hx_eval_result *res)
{
    memset(res, 0, sizeof *res);
    const hx_eval_config *c = &ev->cfg;
    if (hx_tokenizer_vocab_size(ev->tok) > m->cfg.vocab_size)
        return HX_ERR(HX_EINVAL, "eval: the tokenizer has %d ids but the model's vocab_size is %d",
                      hx_tokenizer_vocab_size(ev->tok), m->cfg.vocab_size);
    /* Longer sequences than the model was made for are refused, not run (RoPE would extrapolate silently). */
    int max_pos = m->cfg.max_position_embeddings;
    if (c->ppl.window > max_pos)
        return HX_ERR(HX_EINVAL, "eval: perplexity window %d (--window) is larger than the model's "
                      "max_position_embeddings %d", c->ppl.window, max_pos);
    for (int i = 0; i < c->n_tasks; i++)
        if (c->tasks[i].ll.max_length > max_pos)
            return HX_ERR(HX_EINVAL, "eval: task %s: max_length %d (--max-length) is larger than the model's "
                          "max_position_embeddings %d", c->tasks[i].name, c->tasks[i].ll.max_length, max_pos);
    res->tasks = hx_calloc((size_t)c->n_tasks + 1, sizeof(hx_eval_task_result));
    if (!res->tasks) return HX_ENOMEM;
    int rc = HX_OK;
    if (c->n_texts > 0 || c->shards) {
        res->has_ppl = 1;
        if (c->n_texts > 0) rc = ppl_texts(ev, m, res);
        if (rc == HX_OK && c->shards) rc = ppl_shards(ev, m, res);
        res->ppl = hx_ppl_finish(&res->ppl_sums);
        const double *v[4] = {&res->ppl.loss, &res->ppl.perplexity, &res->ppl.bits_per_byte, &res->ppl.word_perplexity};
        for (int k = 0; rc == HX_OK && k < 4; k++) rc = hx_check_finite_d(v[k], 1, "eval: %s", ppl_cols[k]);
    }
    for (int i = 0; rc == HX_OK && i < c->n_tasks; i++, res->n_tasks++) {
        rc = run_task(&ev->ts[i], m, ev->tok, &res->tasks[i]);
        if (rc < 0) hx_adderr(rc, "eval: task %s (%s)", c->tasks[i].name, c->tasks[i].path);
    }
    if (rc < 0) hx_eval_result_free(res);
    return rc;
}

void hx_eval_result_free(hx_eval_result *r)
{
    free(r->tasks);
    r->tasks = NULL;
    r->n_tasks = 0;
}

int hx_evaluate(const hx_model *m, const hx_tokenizer *tok, const hx_eval_config *cfg, hx_eval_result *res)
{
    hx_evaluator *ev;
    HX_TRY(hx_evaluator_open(cfg, tok, &ev));
    int rc = hx_evaluator_run(ev, m, res);
    hx_evaluator_close(ev);
    return rc;
}

/* Perplexity column names, in the order of hx_eval_column_values. */

void hx_eval_names_free(char **names, int n)
{
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

int hx_eval_column_names(const hx_eval_config *cfg, char ***names_out, int *n_out)
{
    int n = 3 * cfg->n_tasks + (cfg->n_texts > 0 || cfg->shards ? 4 : 0), k = 0, rc = HX_OK;
    char **names = hx_calloc((size_t)n + 1, sizeof(char *));
    if (!names) return HX_ENOMEM;
    for (int i = 0; rc == HX_OK && i < cfg->n_tasks; i++)
        for (int j = 0; rc == HX_OK && j < 3; j++) {
            size_t len = strlen(cfg->tasks[i].name) + strlen(hx_eval_task_metrics[j]) + 2;
            if (!(names[k] = hx_malloc(len))) rc = HX_ENOMEM;
            else snprintf(names[k++], len, "%s.%s", cfg->tasks[i].name, hx_eval_task_metrics[j]);
        }
    for (int j = 0; rc == HX_OK && k < n; j++)
        if (!(names[k++] = strdup(ppl_cols[j]))) rc = HX_ERR(HX_ENOMEM, "out of memory");
    if (rc < 0) {
        hx_eval_names_free(names, k);
        return rc;
    }
    *names_out = names;
    *n_out = n;
    return HX_OK;
}

int hx_eval_column_values(const hx_eval_result *res, double *values, int max_cols)
{
    int n = 3 * res->n_tasks + (res->has_ppl ? 4 : 0), k = 0;
    if (n > max_cols) return HX_ERR(HX_EINVAL, "eval: %d columns do not fit in %d", n, max_cols);
    for (int i = 0; i < res->n_tasks; i++) {
        values[k++] = res->tasks[i].acc;
        values[k++] = res->tasks[i].acc_norm;
        values[k++] = res->tasks[i].acc_bytes;
    }
    if (res->has_ppl) {
        values[k++] = res->ppl.loss;
        values[k++] = res->ppl.perplexity;
        values[k++] = res->ppl.bits_per_byte;
        values[k++] = res->ppl.word_perplexity;
    }
    return n;
}

int hx_eval_hook_init(hx_eval_hook *h, const hx_eval_config *cfg, const hx_tokenizer *tok)
{
    memset(h, 0, sizeof *h);
    HX_TRY(hx_evaluator_open(cfg, tok, &h->ev));
    int rc = hx_eval_column_names(hx_evaluator_config(h->ev), &h->names, &h->n_names);
    if (rc < 0) hx_eval_hook_free(h);
    return rc;
}

int hx_eval_hook_fn(void *ctx, const hx_model *m, int64_t tokens, const char **names, double *values, int max_cols)
{
    (void)tokens;
    hx_eval_hook *h = ctx;
    if (h->n_names > max_cols) return HX_ERR(HX_EINVAL, "eval hook: %d columns do not fit in %d", h->n_names, max_cols);
    hx_eval_result res;
    HX_TRY(hx_evaluator_run(h->ev, m, &res));
    int n = hx_eval_column_values(&res, values, max_cols);
    hx_eval_result_free(&res);
    for (int i = 0; i < n; i++) names[i] = h->names[i];
    return n;
}

void hx_eval_hook_free(hx_eval_hook *h)
{
    hx_eval_names_free(h->names, h->n_names);
    hx_evaluator_close(h->ev);
    memset(h, 0, sizeof *h);
}

static int attr_task(hx_h5log *log, const char *obj, const char *task, const char *key, const char *sval, int64_t ival)
{
    char name[HX_EVAL_NAME_MAX + 64];
    snprintf(name, sizeof name, "%s.%s", task, key);
    return sval ? hx_h5log_attr_str(log, obj, name, sval) : hx_h5log_attr_int(log, obj, name, ival);
}

int hx_eval_log_settings(hx_h5log *log, const char *obj, const hx_evaluator *ev, const hx_config *model_cfg)
{
    const hx_eval_config *c = &ev->cfg;
    size_t len = 1;
    for (int i = 0; i < c->n_tasks; i++) len += strlen(c->tasks[i].name) + 1;
    for (int i = 0; i < c->n_texts; i++) len += strlen(c->texts[i]) + 1;
    len += c->shards ? strlen(c->shards) + 8 : 0;
    char *list = hx_calloc(len, 1);
    if (!list) return HX_ENOMEM;
    for (int i = 0; i < c->n_tasks; i++) strcat(strcat(list, i ? "," : ""), c->tasks[i].name);
    int rc = hx_h5log_attr_str(log, obj, "eval_tasks", list);
    if (rc == HX_OK) rc = hx_h5log_attr_str(log, obj, "tokenizer_sha256", hx_tokenizer_sha256(ev->tok));
    int model_max = model_cfg ? model_cfg->max_position_embeddings : 0;
    for (int i = 0; rc == HX_OK && i < c->n_tasks; i++) {
        const hx_eval_task *t = &c->tasks[i];
        const char *n = t->name;
        rc = attr_task(log, obj, n, "layout", hx_task_kind_names[t->kind], 0);
        if (rc == HX_OK) rc = attr_task(log, obj, n, "path", t->path, 0);
        if (rc == HX_OK) rc = attr_task(log, obj, n, "sha256", ev->ts[i].set.sha256, 0);
        if (rc == HX_OK) rc = attr_task(log, obj, n, "n_shot", NULL, t->n_shot);
        if (rc == HX_OK) rc = attr_task(log, obj, n, "limit", NULL, t->limit);
        if (rc == HX_OK) rc = attr_task(log, obj, n, "items", NULL, ev->ts[i].n_items);
        if (rc == HX_OK) { /* expected accuracy of a uniform guess: mean of 1/choices over the scored items */
            double chance = 0;
            for (int k = 0; k < ev->ts[i].n_items; k++) chance += 1.0 / ev->ts[i].items[k].n_choices;
            char name[HX_EVAL_NAME_MAX + 64];
            snprintf(name, sizeof name, "%s.chance", n);
            rc = hx_h5log_attr_double(log, obj, name, ev->ts[i].n_items ? chance / ev->ts[i].n_items : 0);
        }
        if (rc == HX_OK) rc = attr_task(log, obj, n, "seed", NULL, (int64_t)t->seed);
        if (rc == HX_OK) rc = attr_task(log, obj, n, "target_delimiter", t->target_delimiter ? t->target_delimiter : " ", 0);
        if (rc == HX_OK) rc = attr_task(log, obj, n, "metrics", "acc,acc_norm,acc_bytes", 0);
        if (rc == HX_OK) rc = attr_task(log, obj, n, "add_bos", NULL, t->ll.add_bos != 0);
        if (rc == HX_OK) rc = attr_task(log, obj, n, "max_length", NULL, t->ll.max_length > 0 ? t->ll.max_length : model_max);
        if (rc == HX_OK)
            rc = attr_task(log, obj, n, "truncation",
                           "left: context tokens dropped from the start, keeping >= 1 context token and the whole "
                           "continuation", 0);
    }
    if (rc == HX_OK && (c->n_texts > 0 || c->shards)) {
        list[0] = 0;
        for (int i = 0; i < c->n_texts; i++) strcat(strcat(list, i ? "," : ""), c->texts[i]);
        if (c->shards) strcat(strcat(strcat(list, c->n_texts ? "," : ""), "shards:"), c->shards);
        int W = c->ppl.window > 0 ? c->ppl.window : model_max;
        rc = hx_h5log_attr_str(log, obj, "ppl.sources", list);
        if (rc == HX_OK) rc = hx_h5log_attr_int(log, obj, "ppl.window", W);
        if (rc == HX_OK) rc = hx_h5log_attr_int(log, obj, "ppl.stride", c->ppl.stride > 0 ? c->ppl.stride : W);
        if (rc == HX_OK) rc = hx_h5log_attr_int(log, obj, "ppl.add_bos", c->ppl.add_bos != 0);
        if (rc == HX_OK) rc = hx_h5log_attr_int(log, obj, "ppl.doc_limit", c->doc_limit);
    }
    free(list);
    return rc;
}

/* A non-negative count (hx_parse_count: k/M/B/T suffixes allowed) into a long. */
static int parse_count(const char *s, long *out)
{
    int64_t v;
    if (hx_parse_count(s, &v) || v < 0 || v > 1000000000000000L) return 0;
    *out = (long)v;
    return 1;
}

int hx_eval_parse_task(char *buf, hx_eval_task *t)
{
    char spec[512];
    snprintf(spec, sizeof spec, "%s", buf);
    char *eq = strchr(buf, '=');
    if (!eq || eq == buf)
        return HX_ERR(HX_EINVAL, "--task \"%s\": expected NAME=LAYOUT:PATH[:NSHOT[:LIMIT]] (no NAME= part)", spec);
    *eq = 0;
    /* fields: LAYOUT, PATH, NSHOT, LIMIT */
    char *f[4] = {eq + 1, NULL, NULL, NULL};
    int nf = 1;
    for (char *c = strchr(f[0], ':'); c; c = strchr(c + 1, ':')) {
        if (nf == 4) return HX_ERR(HX_EINVAL, "--task \"%s\": too many ':' fields (PATH must not contain ':')", spec);
        *c = 0;
        f[nf++] = c + 1;
    }
    if (nf < 2) return HX_ERR(HX_EINVAL, "--task \"%s\": expected NAME=LAYOUT:PATH (no ':' after the layout)", spec);
    int kind = hx_task_kind_parse(f[0]);
    if (kind < 0)
        return HX_ERR(HX_EINVAL,
                      "--task \"%s\": unknown layout \"%s\" (hellaswag, arc, arc_easy, arc_challenge, winogrande, piqa, "
                      "mmlu, generic)",
                      spec, f[0]);
    if (!*f[1]) return HX_ERR(HX_EINVAL, "--task \"%s\": empty PATH", spec);
    long v[2] = {0, 0};
    const char *what[2] = {"NSHOT", "LIMIT"};
    for (int k = 0; k < 2 && f[2 + k]; k++)
        if (!parse_count(f[2 + k], &v[k]) || v[k] > 1000000000L)
            return HX_ERR(HX_EINVAL, "--task \"%s\": %s \"%s\" is not a count (an integer >= 0)", spec, what[k],
                          f[2 + k]);
    t->name = buf;
    t->kind = (hx_task_kind)kind;
    t->path = f[1];
    t->n_shot = (int)v[0];
    t->limit = (int)v[1];
    return HX_OK;
}

int hx_eval_log_row(hx_h5log *log, const char *table, int64_t tokens, const hx_evaluator *ev,
                    const hx_eval_result *r, const hx_config *model_cfg)
{
    char **names = NULL;
    int n = 0;
    HX_TRY(hx_eval_column_names(hx_evaluator_config(ev), &names, &n));
    const char **cols = hx_calloc((size_t)n + 1, sizeof(char *));
    double *vals = hx_calloc((size_t)n + 1, sizeof(double));
    int rc = cols && vals ? HX_OK : HX_ENOMEM;
    if (rc == HX_OK) {
        cols[0] = "tokens";
        vals[0] = (double)tokens;
        for (int i = 0; i < n; i++) cols[i + 1] = names[i];
        rc = hx_eval_column_values(r, vals + 1, n);
    }
    if (rc >= 0) rc = hx_h5log_append(log, table, cols, vals, n + 1);
    if (rc >= 0) rc = hx_eval_log_settings(log, table, ev, model_cfg);
    free(cols);
    free(vals);
    hx_eval_names_free(names, n);
    return rc < 0 ? rc : HX_OK;
}
