/* Corpus -> token shards as a library operation (`harness tokenize` and the
 * experiment runner call it). Documents are read by the streaming ingest,
 * gathered in batches, encoded in parallel (OpenMP; the tokenizer's encode is
 * thread-safe: per-thread caches), and written in input order, so the shards
 * do not depend on the thread count. */
#include "data/tokenize.h"

#include "core/err.h"
#include "core/util.h"
#include "data/shard.h"
#include "data/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_DOCS 1024
#define BATCH_BYTES ((size_t)16 << 20)

/* A batch of documents copied out of the ingest (whose pointers do not
 * survive the next read): texts back to back in one buffer. */
typedef struct {
    char *text;
    size_t len, cap;
    size_t off[BATCH_DOCS + 1];
    const char *source[BATCH_DOCS]; /* malloc'd copies */
    uint64_t line[BATCH_DOCS];
    int32_t *ids[BATCH_DOCS];
    size_t n_ids[BATCH_DOCS];
    int rc[BATCH_DOCS];
    int n;
} doc_batch;

static int batch_add(doc_batch *b, const hx_doc *d)
{
    if (b->len + d->len > b->cap) {
        size_t cap = b->cap ? b->cap : BATCH_BYTES;
        while (cap < b->len + d->len) cap *= 2;
        char *t = realloc(b->text, cap);
        if (!t) return HX_ERR(HX_ENOMEM, "out of memory (%zu bytes of documents)", cap);
        b->text = t;
        b->cap = cap;
    }
    memcpy(b->text + b->len, d->text, d->len);
    b->off[b->n] = b->len;
    b->len += d->len;
    b->off[b->n + 1] = b->len;
    if (!(b->source[b->n] = strdup(d->source))) return HX_ERR(HX_ENOMEM, "out of memory");
    b->line[b->n] = d->line;
    b->n++;
    return HX_OK;
}

static void batch_clear(doc_batch *b)
{
    for (int i = 0; i < b->n; i++) {
        free((void *)b->source[i]);
        free(b->ids[i]);
        b->ids[i] = NULL;
    }
    b->n = 0;
    b->len = 0;
}

/* Encodes the batch in parallel and appends it to the shards in order. */
static int batch_flush(doc_batch *b, const hx_tokenizer *t, hx_shard_writer *w, uint64_t *tokens)
{
#pragma omp parallel for schedule(dynamic, 8)
    for (int i = 0; i < b->n; i++)
        b->rc[i] = hx_tokenizer_encode(t, b->text + b->off[i], b->off[i + 1] - b->off[i], 0, &b->ids[i], &b->n_ids[i]);
    int rc = HX_OK;
    for (int i = 0; i < b->n && rc == HX_OK; i++) {
        if (b->rc[i] < 0) {
            /* Error messages are per thread: encode again here to report it. */
            int32_t *ids = NULL;
            size_t n;
            rc = hx_tokenizer_encode(t, b->text + b->off[i], b->off[i + 1] - b->off[i], 0, &ids, &n);
            free(ids);
            if (rc >= 0) rc = HX_ERR(b->rc[i], "encode failed in a worker thread only");
            hx_adderr(rc, "%s:%llu", b->source[i], (unsigned long long)b->line[i]);
            break;
        }
        rc = hx_shard_writer_add(w, b->ids[i], b->n_ids[i]);
        if (rc < 0) hx_adderr(rc, "%s:%llu", b->source[i], (unsigned long long)b->line[i]);
        *tokens += b->n_ids[i];
    }
    batch_clear(b);
    return rc;
}

int hx_tokenize_files(const char *tok_path, const char *out, const char *prefix, const hx_ingest_opts *opts,
                      uint64_t shard_tokens, const char *const *inputs, int n_inputs)
{
    hx_tokenizer *t;
    HX_TRY(hx_tokenizer_load(tok_path, &t));
    hx_boundary_rule rule;
    uint32_t bt;
    hx_shard_writer *w = NULL;
    hx_ingest *in = NULL;
    doc_batch *b = hx_calloc(1, sizeof *b);
    int rc = b ? hx_shard_boundary(hx_tokenizer_eos_id(t), hx_tokenizer_bos_id(t), &rule, &bt) : HX_ENOMEM;
    if (rc >= 0)
        rc = hx_shard_writer_open(out, prefix, hx_tokenizer_sha256(t), (uint32_t)hx_tokenizer_vocab_size(t), rule, bt,
                                  shard_tokens, &w);
    if (rc >= 0) rc = hx_ingest_open(inputs, (size_t)n_inputs, opts, &in);
    double t0 = hx_now();
    uint64_t tokens = 0;
    hx_doc d;
    while (rc >= 0) {
        int r = hx_ingest_next(in, &d);
        if (r < 0) rc = r;
        if (r == 1) rc = batch_add(b, &d);
        if (rc >= 0 && (r == 0 || b->n == BATCH_DOCS || b->len >= BATCH_BYTES)) rc = batch_flush(b, t, w, &tokens);
        if (r == 0) break;
    }
    uint64_t n_shards = 0, n_tok = 0, n_docs = 0;
    if (rc >= 0) {
        rc = hx_shard_writer_close(w, &n_shards, &n_tok, &n_docs);
        w = NULL;
    }
    if (rc >= 0) {
        double dt = hx_now() - t0;
        const hx_ingest_stats *s = hx_ingest_stats_of(in);
        printf("tokenize: %llu documents, %llu tokens (%llu text + %llu boundary), %llu shard(s) of %s ids -> %s/%s-*%s\n",
               (unsigned long long)n_docs, (unsigned long long)n_tok, (unsigned long long)tokens,
               (unsigned long long)(n_tok - tokens), (unsigned long long)n_shards,
               hx_tokenizer_vocab_size(t) <= 65536 ? "uint16" : "uint32", out, prefix, HX_SHARD_EXT);
        printf("tokenize: %.2f MB read, %.2f MB of text in %.2f s (%.2f MB/s, %.0f tokens/s, %d threads); "
               "%llu empty, %llu skipped; tokenizer sha256 %s\n",
               s->input_bytes / 1e6, s->text_bytes / 1e6, dt, dt > 0 ? s->input_bytes / 1e6 / dt : 0.0,
               dt > 0 ? n_tok / dt : 0.0, hx_threads(), (unsigned long long)s->empty,
               (unsigned long long)s->skipped, hx_tokenizer_sha256(t));
        hx_ingest_report_skips(in, stdout);
    }
    if (b) batch_clear(b), free(b->text);
    free(b);
    hx_ingest_close(in);
    hx_shard_writer_abort(w);
    hx_tokenizer_free(t);
    return rc;
}
