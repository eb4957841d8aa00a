/* Tests the tokenizer pipeline against HF tokenizers on one small tokenizer per
 * model family's tokenizer.json configuration (tests/fixtures/tokenizers/,
 * made by tools/make_tokenizer_fixtures.py --families): Llama-2 (Prepend +
 * Replace normalizer, byte_fallback), Mistral (Metaspace first, lstrip/rstrip
 * added token), Gemma, Llama-3, Qwen2 (NFC), GPT-2, SmolLM (Digits), SmolLM2 as
 * converted from GGUF (empty normalizer Sequence, ByteLevel with byte_fallback,
 * decoder Sequence), and three that cover the remaining parts (Punctuation +
 * Metaspace never; prefix/suffix BPE with unk, NFKC/Lowercase/Strip,
 * Punctuation contiguous, WhitespaceSplit, single_word; Split behaviours,
 * invert, Whitespace, NFD/NFKD + regex Replace, fused unk, no decoder). For every text of an
 * adversarial set: ids with and without special tokens, and the decoded text
 * with and without skip_special, equal HF's; random id sequences decode as HF
 * decodes them. Invalid UTF-8 (HF takes str, so no HF reference) is refused
 * by encode with HX_EINVAL and its byte offset, in every family. */
#include "test_util.h"

#include "core/err.h"
#include "data/tokenizer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX "tests/fixtures/tokenizers/"

static const char *const families[] = {"llama2", "mistral", "gemma",          "llama3", "qwen2",
                                       "gpt2",   "smollm",  "smollm2_gguf",   "sp_never", "wordpiece_like", "splits"};
#define N_FAMILIES (sizeof(families) / sizeof(*families))

static json_t *load_json(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, JSON_ALLOW_NUL, &e); /* a text holds U+0000 */
    if (!j) fail_msg("%s: %s", path, e.text);
    return j;
}

static hx_tokenizer *load_family(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), FIX "%s.json", name);
    hx_tokenizer *t = NULL;
    if (hx_tokenizer_load(path, &t) < 0) fail_msg("%s", hx_errmsg());
    return t;
}

/* 1 if ids[0..n) equal the JSON array `want`; else prints the first difference. */
static int same_ids(const int32_t *ids, size_t n, json_t *want, const char *what, size_t k)
{
    size_t m = json_array_size(want);
    for (size_t i = 0; i < n || i < m; i++) {
        long got = i < n ? ids[i] : -1, exp = i < m ? (long)json_integer_value(json_array_get(want, i)) : -1;
        if (got != exp) {
            print_error("%s text %zu: %zu ids vs HF %zu; id %zu is %ld, HF has %ld\n", what, k, n, m, i, got, exp);
            return 0;
        }
    }
    return 1;
}

static int same_text(const int32_t *ids, size_t n, const hx_tokenizer *t, int skip, json_t *want, const char *what,
                     size_t k)
{
    char *got;
    size_t len;
    if (hx_tokenizer_decode(t, ids, n, skip, &got, &len) < 0) fail_msg("%s: %s", what, hx_errmsg());
    int ok = len == json_string_length(want) && !memcmp(got, json_string_value(want), len);
    if (!ok) print_error("%s case %zu (skip_special %d): decoded '%s', HF '%s'\n", what, k, skip, got,
                         json_string_value(want));
    free(got);
    return ok;
}

static void test_families_match_hf(void **state)
{
    (void)state;
    json_t *texts = load_json(FIX "texts.json");
    assert_true(json_array_size(texts) >= 30);
    size_t matched = 0, checks = 0;
    for (size_t f = 0; f < N_FAMILIES; f++) {
        hx_tokenizer *t = load_family(families[f]);
        char path[256];
        snprintf(path, sizeof(path), FIX "%s.expected.json", families[f]);
        json_t *c = load_json(path);
        int all = 1;
        for (size_t k = 0; k < json_array_size(texts); k++) {
            json_t *text = json_array_get(texts, k);
            int ok = 1;
            for (int special = 0; special < 2; special++) {
                int32_t *ids;
                size_t n;
                assert_int_equal(hx_tokenizer_encode(t, json_string_value(text), json_string_length(text), special,
                                                     &ids, &n),
                                 HX_OK);
                ok &= same_ids(ids, n, json_array_get(json_object_get(c, special ? "ids_special" : "ids"), k),
                               families[f], k);
                if (special) {
                    ok &= same_text(ids, n, t, 0, json_array_get(json_object_get(c, "decoded"), k), families[f], k);
                    ok &= same_text(ids, n, t, 1, json_array_get(json_object_get(c, "decoded_skip"), k),
                                    families[f], k);
                }
                free(ids);
                checks += special ? 3 : 1;
            }
            matched += (size_t)ok;
            all &= ok;
        }
        json_t *rids = json_object_get(c, "random_ids"), *rdec = json_object_get(c, "random_decoded");
        assert_true(json_array_size(rids) >= 40);
        for (size_t k = 0; k < json_array_size(rids); k++) {
            json_t *arr = json_array_get(rids, k);
            int32_t ids[64];
            size_t n = json_array_size(arr);
            assert_true(n <= 64);
            for (size_t i = 0; i < n; i++) ids[i] = (int32_t)json_integer_value(json_array_get(arr, i));
            all &= same_text(ids, n, t, 0, json_array_get(rdec, k), families[f], 1000 + k);
            checks++;
        }
        hx_tokenizer_free(t);
        json_decref(c);
        if (!all) fail_msg("%s differs from HF (see above)", families[f]);
    }
    print_message("families: %zu texts x %zu tokenizers matched HF (%zu comparisons)\n", matched / N_FAMILIES,
                  N_FAMILIES, checks);
    assert_int_equal(matched, json_array_size(texts) * N_FAMILIES);
    json_decref(texts);
}

/* The C API takes bytes: invalid UTF-8 is refused with its offset, whatever the pipeline. */
static void test_families_refuse_invalid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len;
        long off;
    } bad[] = {
        {"ab\xff" "cd", 5, 2},
        {"<s>\xC3", 4, 3},           /* truncated after a special token */
        {"\xE2\x96", 2, 0},          /* half a U+2581 */
        {"hello \xF0\x9F\x98", 9, 6}, /* truncated emoji */
        {"x\xC0\xAF", 3, 1},          /* overlong */
        {"1234567\xED\xA0\x80", 10, 7}, /* surrogate */
    };
    for (size_t f = 0; f < N_FAMILIES; f++) {
        hx_tokenizer *t = load_family(families[f]);
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
            int32_t *ids = NULL;
            size_t n = 0;
            assert_int_equal(hx_tokenizer_encode(t, bad[i].s, bad[i].len, 1, &ids, &n), HX_EINVAL);
            assert_null(ids);
            char want[64];
            snprintf(want, sizeof(want), "byte offset %ld", bad[i].off);
            if (!strstr(hx_errmsg(), want)) fail_msg("%s case %zu: '%s' lacks '%s'", families[f], i, hx_errmsg(), want);
        }
        hx_tokenizer_free(t);
    }
}

/* Facts of the fixtures that the comparison above relies on: a byte-fallback
 * family really falls back to <0xXX> tokens and fuses unknowns, the Llama-2 and
 * Gemma templates add their BOS, and decode of a lone fallback byte is U+FFFD. */
static void test_family_features(void **state)
{
    (void)state;
    hx_tokenizer *t = load_family("llama2");
    int32_t *ids;
    size_t n;
    const char *snow = "\xE2\x98\x83"; /* U+2603, not in the small alphabet */
    assert_int_equal(hx_tokenizer_encode(t, snow, 3, 0, &ids, &n), HX_OK);
    assert_int_equal(n, 4); /* "▁" then <0xE2> <0x98> <0x83> */
    assert_int_equal(ids[1], hx_tokenizer_token_id(t, "<0xE2>"));
    assert_int_equal(ids[3], hx_tokenizer_token_id(t, "<0x83>"));
    char *back;
    size_t blen;
    assert_int_equal(hx_tokenizer_decode(t, ids + 1, 1, 0, &back, &blen), HX_OK);
    assert_string_equal(back, "\xEF\xBF\xBD");
    free(back);
    free(ids);
    assert_int_equal(hx_tokenizer_encode(t, "", 0, 1, &ids, &n), HX_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], hx_tokenizer_bos_id(t));
    assert_int_equal(hx_tokenizer_bos_id(t), hx_tokenizer_token_id(t, "<s>"));
    free(ids);
    hx_tokenizer_free(t);

    t = load_family("gemma"); /* <bos> from the template, <eos> by name */
    assert_int_equal(hx_tokenizer_bos_id(t), 2);
    assert_int_equal(hx_tokenizer_eos_id(t), 1);
    assert_true(hx_tokenizer_adds_bos(t));
    hx_tokenizer_free(t);

    t = load_family("wordpiece_like"); /* no byte_fallback: unknown chars are [UNK], not fused */
    assert_int_equal(hx_tokenizer_encode(t, "\xE2\x98\x83\xE2\x98\x83", 6, 0, &ids, &n), HX_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], hx_tokenizer_token_id(t, "[UNK]"));
    assert_int_equal(ids[1], ids[0]);
    free(ids);
    hx_tokenizer_free(t);
}

/* Split behaviours on "the-final--countdown" split on "-" (HF results listed in
 * /work/shared/research/gguf-and-tokenizers.md 2.3, checked there against
 * tokenizers 0.22.2). With ignore_merges every piece in the vocabulary is one
 * id, so the ids show the pieces. */
static void test_split_behaviours(void **state)
{
    (void)state;
    static const char *const vocab = "\"the\":0,\"final\":1,\"countdown\":2,\"-\":3,\"the-\":4,\"final-\":5,"
                                     "\"-final\":6,\"-countdown\":7,\"--\":8";
    static const struct {
        const char *behavior;
        int invert;
        int32_t ids[8];
        size_t n;
    } cases[] = {
        {"Removed", 0, {0, 1, 2}, 3},
        {"Isolated", 0, {0, 3, 1, 3, 3, 2}, 6},
        {"MergedWithPrevious", 0, {4, 5, 3, 2}, 4},
        {"MergedWithNext", 0, {0, 6, 3, 7}, 4},
        {"Contiguous", 0, {0, 3, 1, 8, 2}, 5},
        {"Removed", 1, {3, 3, 3}, 3},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char json[1024];
        snprintf(json, sizeof(json),
                 "{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"String\":\"-\"},\"behavior\":\"%s\","
                 "\"invert\":%s},\"model\":{\"type\":\"BPE\",\"ignore_merges\":true,\"vocab\":{%s},\"merges\":[]}}",
                 cases[i].behavior, cases[i].invert ? "true" : "false", vocab);
        const char *path = hx_tmp_path("split.json");
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        assert_true(fputs(json, f) >= 0 && fclose(f) == 0);
        hx_tokenizer *t = NULL;
        if (hx_tokenizer_load(path, &t) < 0) fail_msg("%s", hx_errmsg());
        int32_t *ids;
        size_t n;
        assert_int_equal(hx_tokenizer_encode(t, "the-final--countdown", 20, 0, &ids, &n), HX_OK);
        if (n != cases[i].n || memcmp(ids, cases[i].ids, n * sizeof(int32_t)))
            fail_msg("%s invert %d: %zu ids, first %d", cases[i].behavior, cases[i].invert, n, n ? ids[0] : -1);
        free(ids);
        hx_tokenizer_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_families_match_hf),
        cmocka_unit_test(test_families_refuse_invalid_utf8),
        cmocka_unit_test(test_family_features),
        cmocka_unit_test(test_split_behaviours),
    };
    return cmocka_run_group_tests(tests, hx_tmp_setup, hx_tmp_teardown);
}
