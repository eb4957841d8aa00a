/* Benchmark suites of the data and training stages: tokenizer throughput
 * next to HF tokenizers, and the trainer's overhead over bare steps. */
#include "bench/bench.h"

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "data/ingest.h"
#include "data/shard.h"
#include "data/tokenizer.h"
#include "log/h5log.h"
#include "train/trainer.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CORPUS "data/corpus-train.jsonl.zst"
#define TOKENIZER "data/tokenizer.json"

/* Writes the texts of the embedded train split, one after another, to `path`. */
static int dump_corpus(const char *path, size_t *bytes)
{
    const char *in[] = {CORPUS};
    hx_ingest_opts o = {0};
    hx_ingest *it;
    HX_TRY(hx_ingest_open(in, 1, &o, &it));
    FILE *f = fopen(path, "wb");
    int rc = f ? HX_OK : HX_ERR(HX_EIO, "%s: cannot create", path);
    hx_doc d;
    *bytes = 0;
    while (rc == HX_OK) {
        int r = hx_ingest_next(it, &d);
        if (r <= 0) {
            rc = r;
            break;
        }
        if (fwrite(d.text, 1, d.len, f) != d.len || fputc('\n', f) == EOF) rc = HX_ERR(HX_EIO, "%s: write failed", path);
        *bytes += d.len + 1;
    }
    if (f && fclose(f) != 0 && rc == HX_OK) rc = HX_ERR(HX_EIO, "%s: write failed", path);
    hx_ingest_close(it);
    return rc;
}

/* Single-thread (threads=1) or multi-thread encode throughput over a text
 * file, in MB/s of UTF-8 input (1 MB = 1e6 bytes). The file is split at line
 * ends into ~64 KiB chunks encoded in parallel by `threads` OpenMP threads;
 * the best of 3 passes is reported. Errors: those of load/read/encode. */
static int bench_encode(const char *tokenizer_json, const char *text_file, int threads, double *mb_per_s)
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

int hx_bench_tokenizer_suite(json_t *out, const hx_bench_opts *o)
{
    char path[] = "/tmp/hx_bench_corpus_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return HX_ERR(HX_EIO, "bench tokenizer: cannot create a temporary file");
    close(fd);
    size_t bytes = 0;
    double ours = 0;
    int rc = dump_corpus(path, &bytes);
    if (rc == HX_OK && !o->quiet) fprintf(stderr, "bench tokenizer: %zu bytes of the embedded train split\n", bytes);
    if (rc == HX_OK) rc = bench_encode(TOKENIZER, path, 1, &ours);
    if (rc == HX_OK) {
        json_object_set_new(out, "text_bytes", json_integer((json_int_t)bytes));
        json_object_set_new(out, "threads", json_integer(1));
        json_object_set_new(out, "ours_mb_per_s", json_real(ours));
        /* HF tokenizers on the same chunks and thread count, when Python has it. */
        char cmd[512];
        snprintf(cmd, sizeof cmd, "python3 tools/bench_tokenizers.py %s %s 1 2>/dev/null", TOKENIZER, path);
        FILE *p = popen(cmd, "r");
        double hf = 0;
        char line[256];
        while (p && fgets(line, sizeof line, p))
            if (sscanf(line, "HF tokenizers: %lf", &hf) != 1) hf = 0;
        int st = p ? pclose(p) : -1;
        if (st == 0 && hf > 0) {
            json_object_set_new(out, "hf_tokenizers_mb_per_s", json_real(hf));
            json_object_set_new(out, "ratio_ours_over_hf", json_real(ours / hf));
        } else {
            json_object_set_new(out, "hf_tokenizers_mb_per_s", json_null());
            json_object_set_new(out, "hf_note", json_string("python3 with the tokenizers package not available"));
        }
    }
    unlink(path);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int hx_bench_trainer_suite(json_t *out, const hx_bench_opts *o)
{
    hx_config cfg = hx_bench_mini_config();
    enum { B = 8, T = 256 };
    int steps = o->steps + 2;
    char dir[] = "/tmp/hx_bench_train_XXXXXX";
    if (!mkdtemp(dir)) return HX_ERR(HX_EIO, "bench trainer: cannot create a temporary directory");
    char shards[128], log[128];
    snprintf(shards, sizeof shards, "%s/shards", dir);
    snprintf(log, sizeof log, "%s/log.h5", dir);
    /* Random tokens: the throughput does not depend on what is learned. */
    char sha[65];
    memset(sha, '0', 64);
    sha[64] = '\0';
    hx_shard_writer *w;
    int rc = hx_shard_writer_open(shards, "bench", sha, (uint32_t)cfg.vocab_size, HX_BOUNDARY_EOS_AFTER, 0,
                                  (uint64_t)1 << 24, &w);
    hx_rng r;
    hx_rng_seed(&r, 3);
    int32_t doc[1024];
    for (int d = 0; rc == HX_OK && d < (steps + 1) * B * T / 1000 + 2; d++) {
        for (int i = 0; i < 1000; i++) doc[i] = 1 + (int32_t)hx_rng_below(&r, (uint64_t)cfg.vocab_size - 1);
        rc = hx_shard_writer_add(w, doc, 1000);
    }
    if (rc == HX_OK) rc = hx_shard_writer_close(w, NULL, NULL, NULL);
    else hx_shard_writer_abort(w);
    hx_train_config c = hx_train_defaults();
    c.model = cfg;
    c.seed = 1;
    c.train_data = shards;
    c.seq_len = T;
    c.micro_batch = B;
    c.token_budget = (int64_t)steps * B * T;
    c.schedule.peak_lr = 1e-3;
    c.schedule.min_lr = 1e-4;
    c.log_path = log;
    c.arm = "bench";
    c.quiet = 1;
    hx_train_result res;
    /* Bare steps measured before and after the trainer run, keeping the faster
     * median, so a slow patch of a shared machine does not count as overhead. */
    double bare = 0, bare2 = 0, t0 = 0, trainer_s = 0;
    if (rc == HX_OK) rc = hx_bench_step_seconds(&cfg, B, T, o->steps, o->quiet, &bare);
    if (rc == HX_OK) {
        t0 = hx_now();
        rc = hx_train(&c, &res);
        trainer_s = hx_now() - t0;
    }
    if (rc == HX_OK) rc = hx_bench_step_seconds(&cfg, B, T, o->steps, o->quiet, &bare2);
    if (rc == HX_OK && bare2 < bare) bare = bare2;
    /* The trainer's per-step throughput (sampler, forward, backward, gradient
     * reduction, clipping, AdamW) from its log, first step excluded as the
     * bare measurement excludes its warm-up; the median like the bare steps. */
    double train_tps = 0;
    if (rc == HX_OK) {
        hx_h5log *lg;
        double *tps = NULL;
        int64_t n = 0;
        rc = hx_h5log_open(log, HX_H5LOG_APPEND, &lg);
        if (rc == HX_OK) rc = hx_h5log_read_column(lg, "arms/bench/train", "tokens_per_s", &tps, &n);
        hx_h5log_close(lg);
        if (rc == HX_OK && n > 1) {
            qsort(tps + 1, (size_t)(n - 1), sizeof(double), cmp_double);
            train_tps = tps[1 + (n - 1) / 2];
        }
        free(tps);
    }
    if (rc == HX_OK) {
        double bare_tps = B * T / bare;
        json_object_set_new(out, "steps", json_integer(steps));
        json_object_set_new(out, "bare_step_tokens_per_s", json_real(bare_tps));
        json_object_set_new(out, "trainer_tokens_per_s", json_real(train_tps));
        json_object_set_new(out, "trainer_wall_s", json_real(trainer_s));
        json_object_set_new(out, "trainer_run_tokens_per_s", json_real(res.tokens_per_s));
        json_object_set_new(out, "overhead", json_real(1.0 - train_tps / bare_tps));
    }
    hx_rm_rf(dir);
    return rc;
}
