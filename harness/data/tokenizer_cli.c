/* Tokenizer command-line tools (tokenizer-train, tokenizer-encode) and the
 * encode-throughput benchmark hx_bench_tokenizer. */
#include "data/tokenizer.h"
#include "data/tokenizer_cmds.h"

#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"
#include "data/ingest.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SPECIAL 64

static int train_usage(void)
{
    fprintf(stderr, "usage: harness tokenizer-train --vocab N --out PATH [--min-frequency N] [--special TOK]...\n"
                    "                               [--bos TOK|none] [--text-field F] INPUT...\n"
                    "INPUT: text, JSONL, directories and archives, as for `harness tokenize` (data/ingest.h)\n");
    return 2;
}

static int train_files(int vocab, const char *out, const hx_bpe_train_opts *opts, const char *const *special,
                       int n_special, const char *text_field, char **files, int n_files)
{
    hx_bpe_trainer *tr;
    double t0 = hx_now();
    size_t total = 0;
    HX_TRY(hx_bpe_trainer_new(vocab, special, n_special, opts, &tr));
    hx_ingest *in = NULL;
    hx_ingest_opts io = {.text_field = text_field, .progress = stderr};
    int rc = hx_ingest_open((const char *const *)files, (size_t)n_files, &io, &in);
    hx_doc d;
    while (rc >= 0) { /* one document per chunk: a pre-token never spans two */
        int r = hx_ingest_next(in, &d);
        if (r <= 0) {
            rc = r;
            break;
        }
        rc = hx_bpe_trainer_add(tr, d.text, d.len);
        if (rc < 0) hx_adderr(rc, "%s:%llu", d.source, (unsigned long long)d.line);
        total += d.len;
    }
    hx_ingest_close(in);
    hx_tokenizer *t = NULL;
    if (rc >= 0) rc = hx_bpe_trainer_finish(tr, &t);
    hx_bpe_trainer_free(tr);
    if (rc >= 0) rc = hx_tokenizer_save(t, out);
    if (rc >= 0)
        printf("trained %d tokens on %zu bytes in %.2f s; wrote %s (sha256 %s)\n", hx_tokenizer_vocab_size(t), total,
               hx_now() - t0, out, hx_tokenizer_sha256(t));
    hx_tokenizer_free(t);
    return rc;
}

int hx_cmd_tokenizer_train(int argc, char **argv)
{
    int vocab = 0;
    const char *out = NULL, *bos = "<|begin_of_text|>", *text_field = NULL;
    const char *special[MAX_SPECIAL];
    int n_special = 0, i;
    hx_bpe_train_opts opts = {0};
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--help")) return train_usage(), 0;
        if (i + 1 >= argc) return train_usage();
        int rc = HX_OK;
        if (!strcmp(argv[i], "--vocab")) rc = hx_opt_int("vocab", argv[++i], 1, 1 << 24, &vocab);
        else if (!strcmp(argv[i], "--out")) out = argv[++i];
        else if (!strcmp(argv[i], "--min-frequency")) rc = hx_opt_int("min-frequency", argv[++i], 0, INT32_MAX, &opts.min_frequency);
        else if (!strcmp(argv[i], "--bos")) bos = argv[++i];
        else if (!strcmp(argv[i], "--text-field")) text_field = argv[++i];
        else if (!strcmp(argv[i], "--special") && n_special < MAX_SPECIAL) special[n_special++] = argv[++i];
        else return train_usage();
        if (rc < 0) return hx_report(rc);
    }
    if (vocab <= 0 || !out || i >= argc) return train_usage();
    if (n_special == 0) {
        special[n_special++] = "<|begin_of_text|>";
        special[n_special++] = "<|end_of_text|>";
    }
    opts.bos_token = strcmp(bos, "none") ? bos : NULL;
    int rc = train_files(vocab, out, &opts, special, n_special, text_field, argv + i, argc - i);
    return rc < 0 ? hx_report(rc) : 0;
}

int hx_cmd_tokenizer_encode(int argc, char **argv)
{
    const char *path = NULL, *text = NULL;
    int add_special = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--no-special")) add_special = 0;
        else if (!text) text = argv[i];
        else path = NULL, i = argc; /* surplus argument: show usage */
    }
    if (!path || !text) {
        fprintf(stderr, "usage: harness tokenizer-encode --tokenizer PATH [--no-special] TEXT\n");
        return 2;
    }
    hx_tokenizer *t;
    int rc = hx_tokenizer_load(path, &t);
    if (rc < 0) return hx_report(rc);
    int32_t *ids;
    size_t n;
    rc = hx_tokenizer_encode(t, text, strlen(text), add_special, &ids, &n);
    if (rc >= 0) {
        for (size_t k = 0; k < n; k++) printf(k ? " %d" : "%d", (int)ids[k]);
        printf("\n");
        free(ids);
    }
    hx_tokenizer_free(t);
    return rc < 0 ? hx_report(rc) : 0;
}

int hx_bench_tokenizer(const char *tokenizer_json, const char *text_file, int threads, double *mb_per_s)
{
    hx_tokenizer *t;
    char *text;
    size_t len;
    HX_TRY(hx_tokenizer_load(tokenizer_json, &t));
    int rc = hx_read_file(text_file, &text, &len);
    if (rc < 0) {
        hx_tokenizer_free(t);
        return rc;
    }
    /* chunk starts: ~64 KiB pieces ending after a newline */
    size_t nchunk = 0, *start = hx_malloc((len / 65536 + 2) * sizeof(size_t));
    if (!start) rc = HX_ENOMEM;
    for (size_t o = 0; rc >= 0 && o < len;) {
        start[nchunk++] = o;
        size_t e = o + 65536 < len ? o + 65536 : len;
        while (e < len && text[e - 1] != '\n') e++;
        o = e;
    }
    if (start) start[nchunk] = len;
    double best = 0;
    for (int pass = 0; rc >= 0 && pass < 3; pass++) {
        double t0 = hx_now();
        int err = 0;
#pragma omp parallel for num_threads(threads > 0 ? threads : 1) schedule(dynamic) reduction(min : err)
        for (size_t c = 0; c < nchunk; c++) {
            int32_t *ids;
            size_t n;
            int r = hx_tokenizer_encode(t, text + start[c], start[c + 1] - start[c], 0, &ids, &n);
            if (r < 0) err = r;
            else free(ids);
        }
        double dt = hx_now() - t0;
        if (err < 0) rc = HX_ERR(err, "%s: encode failed during the benchmark", text_file);
        else if (dt > 0 && len / dt / 1e6 > best) best = (double)len / dt / 1e6;
    }
    free(start);
    free(text);
    hx_tokenizer_free(t);
    if (rc >= 0) *mb_per_s = best;
    return rc;
}
