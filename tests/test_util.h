/* Shared includes and helpers for the cmocka test suites: small model
 * configs and a per-suite temporary directory. */
#ifndef HX_TEST_UTIL_H
#define HX_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "data/shard.h"
#include "model/config.h"

/* A Llama config with the given sizes: max_position_embeddings 64, RMSNorm
 * eps 1e-5, rope_theta 1e4, no BOS, EOS id 0. */
static inline hx_config hx_test_config(int vocab, int hidden, int intermediate, int layers, int heads, int kv,
                                       int head_dim, int tied)
{
    hx_config c;
    memset(&c, 0, sizeof c);
    strcpy(c.model_type, "llama");
    c.vocab_size = vocab;
    c.hidden_size = hidden;
    c.intermediate_size = intermediate;
    c.num_hidden_layers = layers;
    c.num_attention_heads = heads;
    c.num_key_value_heads = kv;
    c.head_dim = head_dim;
    c.max_position_embeddings = 64;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000.0;
    c.tie_word_embeddings = tied;
    c.bos_token_id = -1;
    c.eos_token_id = 0;
    return c;
}

/* A temporary directory per suite: hx_tmp_setup / hx_tmp_teardown as the
 * group setup and teardown, hx_tmp_path(name) for "<dir>/<name>" (four
 * rotating buffers, so a few can be used in one call). */
static char hx_tmpdir[64];

static inline int hx_tmp_setup(void **state)
{
    (void)state;
    strcpy(hx_tmpdir, "/tmp/hx_test_XXXXXX");
    return mkdtemp(hx_tmpdir) ? 0 : -1;
}

static inline int hx_tmp_teardown(void **state)
{
    (void)state;
    return hx_rm_rf(hx_tmpdir) == HX_OK ? 0 : -1;
}

static inline char *hx_tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", hx_tmpdir, name);
    return buf[k];
}

/* Writes `docs` learnable documents (ids counting up mod 31 from a random
 * start, 20..59 tokens each, vocabulary 32) as token shards into `dir`, with
 * a placeholder tokenizer hash. */
static inline void hx_test_write_counting_shards(const char *dir, uint64_t seed, int docs)
{
    hx_shard_writer *w;
    char sha[65];
    memset(sha, '0', 64);
    sha[64] = '\0';
    assert_int_equal(hx_shard_writer_open(dir, "part", sha, 32, HX_BOUNDARY_EOS_AFTER, 0, 4096, &w), HX_OK);
    hx_rng r;
    hx_rng_seed(&r, seed);
    int32_t ids[64];
    for (int d = 0; d < docs; d++) {
        int n = 20 + (int)hx_rng_below(&r, 40), s = (int)hx_rng_below(&r, 31);
        for (int i = 0; i < n; i++) ids[i] = 1 + (s + i) % 31;
        assert_int_equal(hx_shard_writer_add(w, ids, (size_t)n), HX_OK);
    }
    assert_int_equal(hx_shard_writer_close(w, NULL, NULL, NULL), HX_OK);
}

#endif
