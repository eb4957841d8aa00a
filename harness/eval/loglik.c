/* Batched continuation log-likelihoods with lm-eval's tokenisation rules. */
#include "eval/loglik.h"

#include "core/err.h"
#include "eval/pystr.h"
#include "model/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Encodes `len` bytes of s without special tokens. */
static int enc(const hx_tokenizer *tok, const char *s, size_t len, int32_t **ids, int *n)
{
    size_t nn = 0;
    HX_TRY(hx_tokenizer_encode(tok, s, len, 0, ids, &nn));
    *n = (int)nn;
    return HX_OK;
}

int hx_ll_encode(const hx_tokenizer *tok, const hx_ll_request *req, int add_bos, int32_t **ctx_out, int *n_ctx,
                 int32_t **cont_out, int *n_cont, int *fallback)
{
    const char *ctx = req->context, *cont = req->continuation;
    size_t cl = strlen(ctx), kl = strlen(cont);
    size_t keep = hx_py_rstrip(ctx, cl); /* trailing whitespace moves to the continuation (Python rstrip) */
    char *joined = hx_malloc(cl + kl + 1);
    if (!joined) return HX_ENOMEM;
    memcpy(joined, ctx, cl);
    memcpy(joined + cl, cont, kl + 1);
    int32_t *whole = NULL, *c = NULL, *k = NULL;
    int nw = 0, nc = 0, nk = 0, rc = enc(tok, joined, cl + kl, &whole, &nw);
    if (rc == HX_OK) rc = enc(tok, ctx, keep, &c, &nc);
    *fallback = 0;
    if (rc == HX_OK && nw > nc) {
        nk = nw - nc;
        k = hx_malloc(sizeof(int32_t) * (size_t)nk);
        if (k) memcpy(k, whole + nc, sizeof(int32_t) * (size_t)nk);
        else rc = HX_ENOMEM;
    } else if (rc == HX_OK) {
        *fallback = 1;
        rc = enc(tok, joined + keep, cl - keep + kl, &k, &nk);
    }
    free(joined);
    free(whole);
    int prefix = add_bos || nc == 0 ? 1 : 0;
    int32_t pid = hx_tokenizer_bos_id(tok) >= 0 ? hx_tokenizer_bos_id(tok) : hx_tokenizer_eos_id(tok);
    if (rc == HX_OK && prefix && pid < 0)
        rc = HX_ERR(HX_EINVAL, "loglik: the tokenizer has no BOS or EOS token to %s",
                    add_bos ? "add as BOS" : "use as the context of an empty-context request");
    if (rc == HX_OK && nk == 0) rc = HX_ERR(HX_EINVAL, "loglik: continuation \"%s\" encodes to no tokens", cont);
    int32_t *cc = rc == HX_OK ? hx_malloc(sizeof(int32_t) * (size_t)(nc + prefix)) : NULL;
    if (rc == HX_OK && !cc) rc = HX_ENOMEM;
    if (rc != HX_OK) {
        free(c);
        free(k);
        return rc;
    }
    if (prefix) cc[0] = pid;
    if (nc) memcpy(cc + prefix, c, sizeof(int32_t) * (size_t)nc);
    free(c);
    *ctx_out = cc;
    *n_ctx = nc + prefix;
    *cont_out = k;
    *n_cont = nk;
    return HX_OK;
}

int hx_loglik(const hx_model *m, const hx_tokenizer *tok, const hx_ll_request *req, int n, const hx_ll_opts *o,
              hx_ll_result *out)
{
    hx_ll_tokens *e = hx_calloc((size_t)(n > 0 ? n : 1), sizeof(hx_ll_tokens));
    int *fb = hx_calloc((size_t)(n > 0 ? n : 1), sizeof(int));
    int rc = e && fb ? HX_OK : HX_ENOMEM;
    for (int i = 0; rc == HX_OK && i < n; i++) {
        rc = hx_ll_encode(tok, &req[i], o->add_bos, &e[i].ctx, &e[i].n_ctx, &e[i].cont, &e[i].n_cont, &fb[i]);
        if (rc < 0) hx_adderr(rc, "loglik: request %d", i);
    }
    if (rc == HX_OK) rc = hx_loglik_tokens(m, e, n, o, out);
    for (int i = 0; rc == HX_OK && i < n; i++) out[i].split_fallback = fb[i];
    for (int i = 0; e && i < n; i++) {
        free(e[i].ctx);
        free(e[i].cont);
    }
    free(e);
    free(fb);
    return rc;
}

int hx_loglik_tokens(const hx_model *m, const hx_ll_tokens *e, int n, const hx_ll_opts *o, hx_ll_result *out)
{
    int maxlen = o->max_length > 0 ? o->max_length : m->cfg.max_position_embeddings;
    int B = o->batch > 0 ? o->batch : 1, V = m->cfg.vocab_size;
    int *drop = hx_calloc((size_t)(n > 0 ? n : 1), sizeof(int)); /* context tokens cut on the left */
    if (!drop) return HX_ENOMEM;
    int rc = HX_OK;
    for (int i = 0; rc == HX_OK && i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        if (e[i].n_ctx < 1 || e[i].n_cont < 1)
            rc = HX_ERR(HX_EINVAL, "loglik: request %d has %d context and %d continuation tokens (need >= 1 each)", i,
                        e[i].n_ctx, e[i].n_cont);
        for (int k = 0; rc == HX_OK && k < e[i].n_ctx + e[i].n_cont; k++) {
            int32_t id = k < e[i].n_ctx ? e[i].ctx[k] : e[i].cont[k - e[i].n_ctx];
            if (id < 0 || id >= V)
                rc = HX_ERR(HX_EINVAL, "loglik: request %d: token id %d outside the model's vocab_size %d", i, (int)id, V);
        }
        if (rc != HX_OK) break;
        /* The model reads ctx + cont minus the last token; keep it <= maxlen. */
        int len = e[i].n_ctx + e[i].n_cont - 1;
        if (e[i].n_cont > maxlen)
            rc = HX_ERR(HX_EINVAL, "loglik: request %d: continuation of %d tokens does not fit max_length %d", i,
                        e[i].n_cont, maxlen);
        drop[i] = len > maxlen ? len - maxlen : 0;
        out[i].truncated = drop[i];
    }
    int32_t *ids = NULL;
    hx_workspace ws = {0};
    for (int b0 = 0; rc == HX_OK && b0 < n; b0 += B) {
        int nb = n - b0 < B ? n - b0 : B, T = 1;
        for (int j = 0; j < nb; j++) {
            const hx_ll_tokens *x = &e[b0 + j];
            int len = x->n_ctx - drop[b0 + j] + x->n_cont - 1;
            if (len > T) T = len;
        }
        /* A workspace per distinct shape (a last, smaller batch gets its
         * own, so no empty rows are computed); batches of the same shape reuse it. */
        if (!ws.buf || ws.B != nb || ws.T != T) {
            hx_workspace_free(&ws);
            free(ids);
            ids = hx_calloc((size_t)nb * T, sizeof(int32_t));
            rc = ids ? hx_workspace_alloc(&ws, &m->cfg, nb, T, HX_WS_INFER) : HX_ENOMEM;
            if (rc != HX_OK) break;
        }
        memset(ids, 0, sizeof(int32_t) * (size_t)nb * T); /* right padding: token 0, never scored */
        for (int j = 0; j < nb; j++) {
            const hx_ll_tokens *x = &e[b0 + j];
            int nctx = x->n_ctx - drop[b0 + j];
            memcpy(ids + (size_t)j * T, x->ctx + drop[b0 + j], sizeof(int32_t) * (size_t)nctx);
            memcpy(ids + (size_t)j * T + nctx, x->cont, sizeof(int32_t) * (size_t)(x->n_cont - 1));
        }
        rc = hx_forward(m, &ws, ids, NULL);
        for (int j = 0; rc == HX_OK && j < nb; j++) {
            const hx_ll_tokens *x = &e[b0 + j];
            hx_ll_result *r = &out[b0 + j];
            int nctx = x->n_ctx - drop[b0 + j];
            r->n_cont = x->n_cont;
            r->is_greedy = 1;
            /* Position nctx-1+k predicts continuation token k. */
            for (int k = 0; k < x->n_cont; k++) {
                const float *row = ws.logits + ((size_t)j * T + nctx - 1 + k) * V;
                double mx = -INFINITY;
                int arg = 0;
                for (int v = 0; v < V; v++)
                    if (row[v] > mx) {
                        mx = row[v];
                        arg = v;
                    }
                double s = 0;
                for (int v = 0; v < V; v++) s += exp((double)row[v] - mx);
                r->ll += (double)row[x->cont[k]] - mx - log(s);
                r->is_greedy &= arg == x->cont[k];
            }
        }
    }
    hx_workspace_free(&ws);
    free(ids);
    free(drop);
    return rc;
}
