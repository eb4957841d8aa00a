/* A multiple-choice task built deterministically from the embedded corpus's
 * validation split (data/corpus-valid.jsonl.zst), so that the CPU
 * reproduction reports accuracy as well as loss. Written in the generic task
 * layout {"context", "choices", "gold"} plus an informational "doc" field.
 * How it is built (data/README.md, "Multiple-choice task"):
 *  1. Candidates, in corpus order. KJV chapters (text after the "Book N"
 *     heading): every verse line "<n> <verse>" with the number removed.
 *     Jargon entries (text after the ":name: ..." heading line, whitespace
 *     runs collapsed to one space): the first sentence, up to and including
 *     the first '.', '?' or '!' followed by a space or the end. A candidate
 *     of w words (split at spaces) is kept when 8 <= w <= 30; its context is
 *     the first w/2 words (floor), its continuation the remaining words.
 *  2. Selection: the candidate indices are shuffled with hx_rng seeded by
 *     `seed` and the first n are kept, then put back in corpus order.
 *  3. Distractors, per item in order, from the same rng: the continuations
 *     of candidates (selected or not) of the same source (kjv, jargon) from
 *     other documents, distinct from the true one and from each other, with
 *     a word count within d of the true continuation's for the smallest d
 *     (1, 2, ...) that offers choices-1 of them; choices-1 are drawn
 *     without replacement. The true continuation goes to position
 *     hx_rng_below(choices) and the distractors fill the other positions in
 *     drawing order.
 * With `scrambled` (the corpus_order task), step 3 is instead: each
 * distractor is the true continuation with its words permuted (a Fisher-Yates
 * shuffle from the same rng, redrawn until it differs from the true text and
 * from the distractors before it; candidates whose words cannot give enough
 * distinct orders are skipped at selection). It asks whether a model prefers
 * real word order to the same words scrambled, which bigram statistics
 * already answer: the mini models score well above chance on it, where the
 * other-document distractors of corpus_mc stay near chance.
 * Chance level: 1/choices. */
#ifndef HX_EVAL_CORPUS_TASK_H
#define HX_EVAL_CORPUS_TASK_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int choices;   /* candidates per item, >= 2 (default 4) */
    int n;         /* items (default 300); fewer when the corpus has fewer candidates */
    uint64_t seed; /* default 1234 */
    int scrambled; /* 1: distractors are the true continuation's words reordered (corpus_order) */
} hx_corpus_task_opts;

/* Builds the task from the documents of `valid` (any ingest input; JSONL
 * field "text") into a malloc'd JSONL buffer (*out, *len bytes, one item per
 * line, '\n'-terminated); *n_items gets the item count. Errors: those of
 * ingest, HX_EINVAL (choices < 2, n < 1, a source with too few documents to
 * draw distractors from), HX_ENOMEM. */
int hx_corpus_task_build(const char *valid, const hx_corpus_task_opts *o, char **out, size_t *len, int *n_items);

#endif
