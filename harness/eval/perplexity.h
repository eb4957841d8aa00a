/* Perplexity over text or token streams with sliding windows: LM loss (nats
 * per token), perplexity, bits per byte and word perplexity, summed over all
 * documents as lm-evaluation-harness's loglikelihood_rolling tasks do
 * (formats-and-ecosystem.md §3: word_perplexity = exp(-sum ll / sum words),
 * bits_per_byte = -sum ll / sum bytes / ln 2). */
#ifndef HX_EVAL_PERPLEXITY_H
#define HX_EVAL_PERPLEXITY_H

#include "data/tokenizer.h"
#include "model/model.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int window;  /* tokens per forward pass; 0 = config max_position_embeddings */
    int stride;  /* new tokens scored per window (1..window); 0 = window (disjoint blocks
                    conditioned on the previous token, lm-eval's rolling windows) */
    int add_bos; /* 1: each document starts with BOS so its first token is scored */
} hx_ppl_opts;

/* Running sums over documents. */
typedef struct {
    double nll;  /* nats */
    long tokens; /* scored tokens */
    long bytes;  /* UTF-8 bytes of the documents */
    long words;  /* len(re.split(r"\s+", doc)) summed, as lm-eval counts them */
} hx_ppl_sums;

/* Scores one token stream ids[0..n): with a prefix token (BOS) every id is
 * scored, else ids[1..n). Window k starts at k*stride and scores the targets
 * not scored by an earlier window, with up to window-1 tokens of context.
 * Adds to s->nll and s->tokens. Errors: HX_EINVAL (bad window/stride, ids out
 * of range), HX_ENOMEM. */
int hx_ppl_tokens(const hx_model *m, const int32_t *ids, long n, int32_t prefix, const hx_ppl_opts *o,
                  hx_ppl_sums *s);

/* Encodes one document (no special tokens; BOS per o->add_bos) and scores
 * it, also adding its bytes and word count. */
int hx_ppl_text(const hx_model *m, const hx_tokenizer *tok, const char *text, size_t len, const hx_ppl_opts *o,
                hx_ppl_sums *s);

/* Number of pieces of re.split(r"\s+", text): 1 + the number of maximal
 * whitespace runs (leading and trailing runs give empty pieces, counted).
 * Whitespace is Python's (`\s` in a str pattern = str.isspace(), Unicode
 * included: hx_py_space_len). */
long hx_word_count(const char *text, size_t len);

/* Final metrics from the sums (0 where a denominator is 0). */
typedef struct {
    double loss, perplexity, bits_per_byte, word_perplexity;
} hx_ppl_metrics;
hx_ppl_metrics hx_ppl_finish(const hx_ppl_sums *s);

#endif
