/* Sliding-window perplexity, bits per byte and word perplexity. */
#include "eval/perplexity.h"

#include "core/err.h"
#include "model/engine.h"
#include "eval/pystr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int hx_ppl_tokens(const hx_model *m, const int32_t *ids, long n, int32_t prefix, const hx_ppl_opts *o,
                  hx_ppl_sums *s)
{
    int W = o->window > 0 ? o->window : m->cfg.max_position_embeddings;
    int S = o->stride > 0 ? o->stride : W;
    if (S > W) return HX_ERR(HX_EINVAL, "perplexity: stride %d is larger than the window %d", S, W);
    /* The stream: [prefix] + ids; targets are stream positions 1..M-1. */
    long M = n + (prefix >= 0 ? 1 : 0);
    if (M < 2) return HX_OK;
    int32_t *stream = hx_malloc(sizeof(int32_t) * (size_t)M);
    int32_t *in = hx_malloc(sizeof(int32_t) * (size_t)W), *tgt = hx_malloc(sizeof(int32_t) * (size_t)W);
    hx_workspace ws = {0};
    int rc = stream && in && tgt ? HX_OK : HX_ENOMEM;
    if (rc == HX_OK) rc = hx_workspace_alloc(&ws, &m->cfg, 1, W, HX_WS_INFER);
    if (rc == HX_OK) {
        if (prefix >= 0) stream[0] = prefix;
        memcpy(stream + (prefix >= 0), ids, sizeof(int32_t) * (size_t)n);
    }
    long scored_to = 0; /* last stream index scored as a target */
    for (long b = 0; rc == HX_OK && scored_to < M - 1; b += S) {
        long e = b + W + 1 < M ? b + W + 1 : M; /* stream[b..e): inputs b..e-2, targets b+1..e-1 */
        int len = (int)(e - b - 1);
        memset(in, 0, sizeof(int32_t) * (size_t)W);
        for (int t = 0; t < W; t++) tgt[t] = HX_IGNORE_INDEX;
        memcpy(in, stream + b, sizeof(int32_t) * (size_t)len);
        for (int t = 0; t < len; t++)
            if (b + 1 + t > scored_to) tgt[t] = stream[b + 1 + t];
        rc = hx_forward(m, &ws, in, NULL);
        double sum = 0;
        if (rc == HX_OK) rc = hx_lm_loss(ws.logits, tgt, W, m->cfg.vocab_size, HX_IGNORE_INDEX, 1.0, NULL, &sum);
        s->nll += sum;
        s->tokens += e - 1 - scored_to;
        scored_to = e - 1;
    }
    hx_workspace_free(&ws);
    free(stream);
    free(in);
    free(tgt);
    return rc;
}

long hx_word_count(const char *text, size_t len)
{
    long runs = 0;
    for (size_t i = 0, k; i < len;) {
        if ((k = hx_py_space_len(text + i, len - i)) > 0) {
            runs++;
            while ((k = hx_py_space_len(text + i, len - i)) > 0) i += k;
        } else {
            i++;
        }
    }
    return runs + 1;
}

int hx_ppl_text(const hx_model *m, const hx_tokenizer *tok, const char *text, size_t len, const hx_ppl_opts *o,
                hx_ppl_sums *s)
{
    int32_t *ids = NULL;
    size_t n = 0;
    HX_TRY(hx_tokenizer_encode(tok, text, len, 0, &ids, &n));
    int32_t prefix = -1;
    if (o->add_bos) {
        prefix = hx_tokenizer_bos_id(tok);
        if (prefix < 0) prefix = hx_tokenizer_eos_id(tok);
        if (prefix < 0) {
            free(ids);
            return HX_ERR(HX_EINVAL, "perplexity: add_bos is set but the tokenizer has no BOS or EOS token");
        }
    }
    int rc = hx_ppl_tokens(m, ids, (long)n, prefix, o, s);
    free(ids);
    s->bytes += (long)len;
    s->words += hx_word_count(text, len);
    return rc;
}

hx_ppl_metrics hx_ppl_finish(const hx_ppl_sums *s)
{
    hx_ppl_metrics r = {0, 0, 0, 0};
    if (s->tokens > 0) {
        r.loss = s->nll / (double)s->tokens;
        r.perplexity = exp(r.loss);
    }
    if (s->bytes > 0) r.bits_per_byte = s->nll / (double)s->bytes / log(2.0);
    if (s->words > 0) r.word_perplexity = exp(s->nll / (double)s->words);
    return r;
}
