/* Log-likelihood of continuations given contexts, as lm-evaluation-harness
 * computes it for multiple-choice tasks (formats-and-ecosystem.md §3):
 * the sum of the continuation tokens' log-probabilities under the model. */
#ifndef HX_EVAL_LOGLIK_H
#define HX_EVAL_LOGLIK_H

#include "data/tokenizer.h"
#include "eval/tasks.h"
#include "model/model.h"

typedef struct {
    int add_bos;    /* 1: the sequence starts with exactly one BOS (field case C10); 0: no BOS */
    int max_length; /* tokens the model sees at once; 0 = config max_position_embeddings */
    int batch;      /* requests per forward pass (scores agree across values to 1e-5 nats; bit for bit only at
                       equal batch: BLAS rounding depends on the row count) */
} hx_ll_opts;

/* Per-request result. */
typedef struct {
    double ll;        /* sum of log-probabilities of the continuation tokens (nats) */
    int is_greedy;    /* 1 if every continuation token was the argmax */
    int n_cont;       /* continuation tokens scored */
    int truncated;    /* context tokens dropped on the left to fit max_length */
    int split_fallback; /* 1 if the joint encoding left no continuation token and the
                           continuation was encoded alone (field case C09) */
} hx_ll_result;

/* Tokenises one request the lm-eval way (`_encode_pair`): trailing whitespace of
 * the context (Python str.rstrip(), Unicode whitespace such as U+00A0 and
 * U+3000 included: hx_py_rstrip) moves onto the continuation; whole = enc(ctx + cont),
 * ctx_ids = enc(ctx), cont_ids = whole[len(ctx_ids):]; if that leaves no
 * token (one token spans the join), cont_ids = enc(cont) (C09). With add_bos
 * exactly one BOS is prepended (encoding is done without special tokens, so
 * a post-processor that adds BOS never doubles it, C10); an empty context
 * without BOS gets the BOS (or EOS) id as its one context token, as lm-eval's
 * prefix_token_id. *ctx and *cont are malloc'd. Errors: HX_EINVAL (invalid
 * UTF-8, no BOS/EOS for an empty context), HX_ENOMEM. */
int hx_ll_encode(const hx_tokenizer *tok, const hx_ll_request *req, int add_bos, int32_t **ctx, int *n_ctx,
                 int32_t **cont, int *n_cont, int *fallback);

/* Scores n requests with model m. Requests are packed into batches of
 * o->batch sequences, right-padded to the longest; causal attention makes
 * padding invisible. Inputs longer than max_length lose context tokens on the
 * left, keeping at least one context token and the whole continuation
 * (HX_EINVAL if the continuation alone needs more than max_length tokens).
 * Errors: those of hx_ll_encode and hx_forward, HX_ENOMEM. */
int hx_loglik(const hx_model *m, const hx_tokenizer *tok, const hx_ll_request *req, int n, const hx_ll_opts *o,
              hx_ll_result *out);

/* One request already tokenised: ctx[0..n_ctx) (BOS included when wanted)
 * and cont[0..n_cont), both non-empty. */
typedef struct {
    int32_t *ctx, *cont;
    int n_ctx, n_cont;
} hx_ll_tokens;

/* hx_loglik without the tokenizer: scores n pre-tokenised requests with the
 * same batching and truncation (split_fallback is left 0). Errors: HX_EINVAL
 * (an empty side, a token id outside [0, vocab_size), a continuation longer
 * than max_length), errors of hx_forward, HX_ENOMEM. */
int hx_loglik_tokens(const hx_model *m, const hx_ll_tokens *req, int n, const hx_ll_opts *o, hx_ll_result *out);

#endif
