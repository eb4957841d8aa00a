/* Tests for the byte-level BPE tokenizer (harness/data/tokenizer*.c): ids
 * identical to HF tokenizers on committed fixtures (GPT-2 and Llama-3 styles),
 * decode round trips on random UTF-8, invalid UTF-8 offsets, field case C10
 * (exactly one BOS), ignore_merges, training (exact merges on a toy corpus;
 * train -> save -> load gives identical ids), malformed tokenizer.json errors
 * that name the field, the CLI, and an optional check against HF with Python. */
#include "test_util.h"

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "data/tokenizer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIX "tests/fixtures/tokenizer/"

static json_t *load_json(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j) fail_msg("%s: %s", path, e.text);
    return j;
}

static hx_tokenizer *load_tok(const char *path)
{
    hx_tokenizer *t = NULL;
    int rc = hx_tokenizer_load(path, &t);
    if (rc < 0) fail_msg("%s", hx_errmsg());
    return t;
}

static void assert_ids(const int32_t *got, size_t n, json_t *want, const char *what, size_t k)
{
    if (n != json_array_size(want)) fail_msg("%s case %zu: %zu ids, HF has %zu", what, k, n, json_array_size(want));
    for (size_t i = 0; i < n; i++)
        if (got[i] != json_integer_value(json_array_get(want, i)))
            fail_msg("%s case %zu: id %zu is %d, HF has %d", what, k, i, (int)got[i],
                     (int)json_integer_value(json_array_get(want, i)));
}

static void check_fixture(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), FIX "%s.json", name);
    hx_tokenizer *t = load_tok(path);
    json_t *cases = load_json(FIX "cases.json");
    json_t *texts = json_object_get(cases, "texts"), *exp = json_object_get(cases, name);
    assert_true(json_array_size(texts) > 20);
    for (size_t k = 0; k < json_array_size(texts); k++) {
        const char *text = json_string_value(json_array_get(texts, k));
        size_t len = json_string_length(json_array_get(texts, k));
        for (int special = 0; special < 2; special++) {
            int32_t *ids;
            size_t n;
            assert_int_equal(hx_tokenizer_encode(t, text, len, special, &ids, &n), HX_OK);
            assert_ids(ids, n, json_array_get(json_object_get(exp, special ? "ids_special" : "ids"), k), name, k);
            char *back;
            size_t blen;
            assert_int_equal(hx_tokenizer_decode(t, ids, n, 0, &back, &blen), HX_OK);
            /* add_prefix_space inserts a space that decode keeps; add_special adds BOS text */
            if (!special && strcmp(name, "gpt2_prefix")) {
                assert_int_equal(blen, len);
                assert_memory_equal(back, text, len);
            }
            free(back);
            free(ids);
        }
    }
    json_decref(cases);
    hx_tokenizer_free(t);
}

static void test_gpt2_matches_hf(void **state)
{
    (void)state;
    check_fixture("gpt2");
}

static void test_gpt2_prefix_space_matches_hf(void **state)
{
    (void)state;
    check_fixture("gpt2_prefix");
}

static void test_llama3_matches_hf(void **state)
{
    (void)state;
    check_fixture("llama3");
}

/* Appends the UTF-8 encoding of code point cp. */
static size_t put_utf8(char *s, uint32_t cp)
{
    if (cp < 0x80) return s[0] = (char)cp, 1;
    if (cp < 0x800) return s[0] = (char)(0xC0 | (cp >> 6)), s[1] = (char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000) {
        s[0] = (char)(0xE0 | (cp >> 12));
        s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    s[0] = (char)(0xF0 | (cp >> 18));
    s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    s[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    s[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static void test_random_utf8_round_trips(void **state)
{
    (void)state;
    static const uint32_t ranges[][2] = {{0x00, 0x7F},     {0x20, 0x7E},      {0x80, 0x7FF},      {0x800, 0xD7FF},
                                         {0xE000, 0xFFFF}, {0x10000, 0x10FFFF}, {0x1F300, 0x1FAFF}, {0x3000, 0x3000}};
    const char *names[] = {FIX "gpt2.json", FIX "llama3.json", FIX "gpt2_prefix.json"};
    hx_rng r;
    hx_rng_seed(&r, 7);
    for (int f = 0; f < 2; f++) {
        hx_tokenizer *t = load_tok(names[f]);
        int four_byte = 0;
        for (int it = 0; it < 300; it++) {
            char buf[4 * 64];
            size_t len = 0, nch = hx_rng_below(&r, 64);
            for (size_t c = 0; c < nch; c++) {
                const uint32_t *rg = ranges[hx_rng_below(&r, 8)];
                uint32_t cp = rg[0] + (uint32_t)hx_rng_below(&r, rg[1] - rg[0] + 1);
                len += put_utf8(buf + len, cp);
                four_byte += cp >= 0x10000;
            }
            int32_t *ids;
            size_t n;
            char *back;
            size_t blen;
            assert_int_equal(hx_tokenizer_encode(t, buf, len, 1, &ids, &n), HX_OK);
            assert_int_equal(hx_tokenizer_decode(t, ids, n, 1, &back, &blen), HX_OK);
            assert_int_equal(blen, len);
            assert_memory_equal(back, buf, len);
            assert_true(n <= len + 1);
            free(ids);
            free(back);
        }
        assert_true(four_byte > 100);
        hx_tokenizer_free(t);
    }
}

static void test_invalid_utf8_gives_offset(void **state)
{
    (void)state;
    hx_tokenizer *t = load_tok(FIX "llama3.json");
    static const struct {
        const char *s;
        size_t len;
        long off;
    } bad[] = {
        {"ab\xff" "cd", 5, 2},          /* never valid byte */
        {"hello \xF0\x9F\x98", 9, 6},   /* truncated 4-byte emoji */
        {"x\xC0\xAF", 3, 1},            /* overlong '/' */
        {"12345678\xED\xA0\x80", 11, 8}, /* UTF-16 surrogate after the ASCII fast path */
        {"\x80", 1, 0},                 /* lone continuation byte */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        int32_t *ids;
        size_t n;
        assert_int_equal(hx_tokenizer_encode(t, bad[i].s, bad[i].len, 0, &ids, &n), HX_EINVAL);
        char want[64];
        snprintf(want, sizeof(want), "byte offset %ld", bad[i].off);
        if (!strstr(hx_errmsg(), want)) fail_msg("case %zu: '%s' lacks '%s'", i, hx_errmsg(), want);
    }
    hx_tokenizer_free(t);
}

/* Field case C10: the post-processor already adds BOS; callers must not add another. */
static void test_c10_exactly_one_bos(void **state)
{
    (void)state;
    hx_tokenizer *t = load_tok(FIX "llama3.json");
    int bos = hx_tokenizer_token_id(t, "<|begin_of_text|>");
    assert_int_equal(bos, 1000);
    assert_int_equal(hx_tokenizer_bos_id(t), bos);
    assert_int_equal(hx_tokenizer_eos_id(t), hx_tokenizer_token_id(t, "<|end_of_text|>"));
    assert_int_equal(hx_tokenizer_adds_bos(t), 1);
    const char *text = "And God said, Let there be light";
    int32_t *ids;
    size_t n, nbos = 0;
    assert_int_equal(hx_tokenizer_encode(t, text, strlen(text), 1, &ids, &n), HX_OK);
    assert_true(n > 2);
    assert_int_equal(ids[0], bos);
    for (size_t i = 0; i < n; i++) nbos += ids[i] == bos;
    assert_int_equal(nbos, 1);
    free(ids);
    assert_int_equal(hx_tokenizer_encode(t, text, strlen(text), 0, &ids, &n), HX_OK);
    assert_int_not_equal(ids[0], bos);
    free(ids);
    hx_tokenizer_free(t);
    /* GPT-2 style: no template, so no BOS is added (the caller may add one). */
    t = load_tok(FIX "gpt2.json");
    assert_int_equal(hx_tokenizer_adds_bos(t), 0);
    assert_int_equal(hx_tokenizer_bos_id(t), hx_tokenizer_token_id(t, "<|endoftext|>"));
    hx_tokenizer_free(t);
}

static char *tmp_path(const char *name)
{
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/hx_tok_XXXXXX");
        if (!mkdtemp(dir)) fail_msg("mkdtemp failed");
    }
    return hx_path_join(dir, name);
}

static int load_text(const char *json_text, hx_tokenizer **t)
{
    char *path = tmp_path("t.json");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(json_text, f);
    fclose(f);
    int rc = hx_tokenizer_load(path, t);
    free(path);
    return rc;
}

/* Merges (b,c) before (a,b), so merging "abc" gives a|bc; ignore_merges emits the vocab token abc. */
static void test_ignore_merges(void **state)
{
    (void)state;
    static const char *fmt =
        "{\"added_tokens\":[],\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"ByteLevel\","
        "\"add_prefix_space\":false,\"use_regex\":true},\"post_processor\":null,\"decoder\":{\"type\":\"ByteLevel\"},"
        "\"model\":{\"type\":\"BPE\",\"ignore_merges\":%s,\"vocab\":{\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"bc\":4,"
        "\"abc\":5},\"merges\":[[\"b\",\"c\"],\"a b\"]}}";
    for (int ig = 0; ig < 2; ig++) {
        char text[1024];
        snprintf(text, sizeof(text), fmt, ig ? "true" : "false");
        hx_tokenizer *t;
        assert_int_equal(load_text(text, &t), HX_OK);
        int32_t *ids;
        size_t n;
        assert_int_equal(hx_tokenizer_encode(t, "abcab", 5, 1, &ids, &n), HX_OK);
        assert_int_equal(n, 3); /* "abcab" is one pre-token, not in the vocab: merged either way */
        assert_int_equal(ids[0], 0);
        assert_int_equal(ids[1], 4);
        assert_int_equal(ids[2], 3);
        free(ids);
        assert_int_equal(hx_tokenizer_encode(t, "abc", 3, 1, &ids, &n), HX_OK);
        if (ig) {
            assert_int_equal(n, 1);
            assert_int_equal(ids[0], 5);
        } else {
            assert_int_equal(n, 2);
            assert_int_equal(ids[0], 0);
            assert_int_equal(ids[1], 4);
        }
        free(ids);
        hx_tokenizer_free(t);
    }
}

/* The merge heap of one word holds up to 2(ns-1) entries for ns symbols. In
 * " abcde" (6 symbols) the merges c+d and b+cd each push two entries while
 * the stale first pairs stay (their ranks are larger): 7 entries, more than
 * the symbol count. The encoder once sized the heap by the longest earlier
 * word ("abc": 6 slots) and overflowed here (found by valgrind on SmolLM2's
 * tokenizer); AddressSanitizer (make test SAN=1) reports such an overflow. */
static void test_merge_heap_worst_case(void **state)
{
    (void)state;
    static const char *text =
        "{\"added_tokens\":[],\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"ByteLevel\","
        "\"add_prefix_space\":false,\"use_regex\":true},\"post_processor\":null,\"decoder\":{\"type\":\"ByteLevel\"},"
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"\u0120\":0,\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"cd\":6,"
        "\"bcd\":7,\"cde\":8,\"abcd\":9,\"bcde\":10,\"\u0120a\":11,\"ab\":12,\"bc\":13,\"de\":14},"
        "\"merges\":[\"c d\",\"b cd\",\"cd e\",\"a bcd\",\"bcd e\",\"\u0120 a\",\"a b\",\"b c\",\"d e\"]}}";
    hx_tokenizer *t;
    assert_int_equal(load_text(text, &t), HX_OK);
    int32_t *ids;
    size_t n;
    assert_int_equal(hx_tokenizer_encode(t, "abc abcde", 9, 0, &ids, &n), HX_OK);
    const int32_t want[] = {12, 3, 0, 9, 5}; /* ab c | \u0120 abcd e */
    assert_int_equal(n, 5);
    assert_memory_equal(ids, want, sizeof want);
    free(ids);
    hx_tokenizer_free(t);
}

static hx_tokenizer *train(const char *text, int vocab, int min_freq)
{
    const char *special[] = {"<|begin_of_text|>", "<|end_of_text|>"};
    hx_bpe_train_opts opts = {.min_frequency = min_freq, .bos_token = special[0]};
    hx_bpe_trainer *tr;
    hx_tokenizer *t;
    assert_int_equal(hx_bpe_trainer_new(vocab, special, 2, &opts, &tr), HX_OK);
    assert_int_equal(hx_bpe_trainer_add(tr, text, strlen(text)), HX_OK);
    assert_int_equal(hx_bpe_trainer_finish(tr, &t), HX_OK);
    hx_bpe_trainer_free(tr);
    return t;
}

static void test_train_toy_corpus_exact_merges(void **state)
{
    (void)state;
    /* Pre-tokens "abababab" x1 and " cdcd" x2 (the special token splits the text and is not counted).
     * Counts: (a,b) 4 and (c,d) 2x2 = 4 tie -> smaller left id a: ab=256; then (c,d) 4 -> cd=257;
     * (ab,ab) 3 -> abab=258; (' ',cd) 2 and (cd,cd) 2 tie -> ' ' (32) first: " cd"=259;
     * (" cd",cd) 2 -> " cdcd"=260; then only (abab,abab) 1 < min_frequency 2 is left. */
    hx_tokenizer *t = train("abababab cdcd<|end_of_text|> cdcd", 1000, 2);
    assert_int_equal(hx_tokenizer_token_id(t, "ab"), 256);
    assert_int_equal(hx_tokenizer_token_id(t, "cd"), 257);
    assert_int_equal(hx_tokenizer_token_id(t, "abab"), 258);
    assert_int_equal(hx_tokenizer_token_id(t, " cd"), 259);
    assert_int_equal(hx_tokenizer_token_id(t, " cdcd"), 260);
    assert_int_equal(hx_tokenizer_token_id(t, "cdcd"), -1);
    assert_int_equal(hx_tokenizer_token_id(t, "abababab"), -1);
    assert_int_equal(hx_tokenizer_vocab_size(t), 263);
    int vs = hx_tokenizer_vocab_size(t);
    assert_int_equal(hx_tokenizer_token_id(t, "<|begin_of_text|>"), vs - 2);
    assert_int_equal(hx_tokenizer_token_id(t, "<|end_of_text|>"), vs - 1);
    assert_int_equal(hx_tokenizer_bos_id(t), vs - 2);
    assert_int_equal(hx_tokenizer_adds_bos(t), 1);
    int32_t *ids;
    size_t n;
    assert_int_equal(hx_tokenizer_encode(t, "abababab", 8, 1, &ids, &n), HX_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], vs - 2);
    assert_int_equal(ids[1], 258);
    assert_int_equal(ids[2], 258);
    free(ids);
    hx_tokenizer_free(t);
    /* argument and input errors */
    hx_bpe_trainer *tr;
    const char *sp[] = {"<s>"};
    assert_int_equal(hx_bpe_trainer_new(256, sp, 1, NULL, &tr), HX_EINVAL);
    hx_bpe_train_opts bad_bos = {.bos_token = "<bos>"};
    assert_int_equal(hx_bpe_trainer_new(300, sp, 1, &bad_bos, &tr), HX_EINVAL);
    assert_int_equal(hx_bpe_trainer_new(300, sp, 1, NULL, &tr), HX_OK);
    assert_int_equal(hx_bpe_trainer_add(tr, "ok \xff", 4), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "byte offset 3"));
    assert_int_equal(hx_bpe_trainer_finish(tr, &t), HX_EINVAL); /* nothing counted */
    hx_bpe_trainer_free(tr);
}

static char *sample_text(size_t *len)
{
    char *text;
    if (hx_read_file("/usr/share/common-licenses/GPL-3", &text, len) == HX_OK) return text;
    json_t *cases = load_json(FIX "cases.json"); /* fallback: the fixture texts, repeated */
    size_t cap = 1 << 16, o = 0;
    text = malloc(cap);
    for (int rep = 0; rep < 8; rep++)
        for (size_t k = 0; k < json_array_size(json_object_get(cases, "texts")); k++) {
            json_t *s = json_array_get(json_object_get(cases, "texts"), k);
            if (o + json_string_length(s) + 1 >= cap) text = realloc(text, cap *= 2);
            memcpy(text + o, json_string_value(s), json_string_length(s));
            o += json_string_length(s);
            text[o++] = '\n';
        }
    text[o] = '\0';
    *len = o;
    json_decref(cases);
    return text;
}

static void test_train_save_load_identical(void **state)
{
    (void)state;
    size_t len;
    char *text = sample_text(&len);
    hx_tokenizer *t = train(text, 600, 2), *t2 = train(text, 600, 2);
    assert_string_equal(hx_tokenizer_sha256(t), hx_tokenizer_sha256(t2)); /* deterministic */
    hx_tokenizer_free(t2);
    assert_true(hx_tokenizer_vocab_size(t) > 400 && hx_tokenizer_vocab_size(t) <= 600);
    char *path = tmp_path("trained.json");
    assert_int_equal(hx_tokenizer_save(t, path), HX_OK);
    assert_int_equal(hx_tokenizer_load(path, &t2), HX_OK);
    assert_string_equal(hx_tokenizer_sha256(t), hx_tokenizer_sha256(t2));
    int32_t *a, *b;
    size_t na, nb;
    assert_int_equal(hx_tokenizer_encode(t, text, len, 1, &a, &na), HX_OK);
    assert_int_equal(hx_tokenizer_encode(t2, text, len, 1, &b, &nb), HX_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof(int32_t));
    assert_true(na < len / 2); /* compresses: merges are used */
    char *back;
    size_t blen;
    assert_int_equal(hx_tokenizer_decode(t2, a, na, 1, &back, &blen), HX_OK);
    assert_int_equal(blen, len);
    assert_memory_equal(back, text, len);
    free(back);
    free(a);
    free(b);
    free(path);
    free(text);
    hx_tokenizer_free(t);
    hx_tokenizer_free(t2);
}

/* Applies `mutate` to the GPT-2 fixture and checks the load error names `field`. */
static void expect_format_error(void (*mutate)(json_t *), const char *field)
{
    json_t *root = load_json(FIX "gpt2.json");
    mutate(root);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    hx_tokenizer *t = NULL;
    int rc = load_text(text, &t);
    free(text);
    if (rc != HX_EFORMAT) fail_msg("expected EFORMAT naming %s, got %d: %s", field, rc, hx_errmsg());
    if (!strstr(hx_errmsg(), field)) fail_msg("message '%s' does not name '%s'", hx_errmsg(), field);
    assert_null(t);
}

#define MODEL(r) json_object_get((r), "model")
static void m_normalizer(json_t *r)
{
    json_object_set_new(r, "normalizer",
                        json_pack("{ss s[{ss}{ss}]}", "type", "Sequence", "normalizers", "type", "NFC", "type",
                                  "BertNormalizer"));
}
static void m_model_type(json_t *r) { json_object_set_new(MODEL(r), "type", json_string("WordPiece")); }
static void m_merge_unknown(json_t *r) { json_array_set_new(json_object_get(MODEL(r), "merges"), 3, json_string("q zz")); }
static void m_merge_form(json_t *r) { json_array_set_new(json_object_get(MODEL(r), "merges"), 5, json_string("abc")); }
static void m_pretok(json_t *r) { json_object_set_new(r, "pre_tokenizer", json_pack("{ss}", "type", "BertPreTokenizer")); }
static void m_decoder(json_t *r) { json_object_set_new(r, "decoder", json_pack("{ss}", "type", "WordPiece")); }
static void m_post(json_t *r) { json_object_set_new(r, "post_processor", json_pack("{ss}", "type", "RobertaProcessing")); }
static void m_dropout(json_t *r) { json_object_set_new(MODEL(r), "dropout", json_real(0.1)); }
static void m_unigram(json_t *r) { json_object_set_new(MODEL(r), "type", json_string("Unigram")); }
static void m_unk(json_t *r) { json_object_set_new(MODEL(r), "unk_token", json_string("<no such token>")); }
static void m_metaspace(json_t *r)
{
    json_object_set_new(r, "pre_tokenizer",
                        json_pack("{ss ss ss}", "type", "Metaspace", "replacement", "ab", "prepend_scheme", "always"));
}
static void m_strip(json_t *r)
{
    json_object_set_new(r, "decoder",
                        json_pack("{ss s[{ss} {ss ss si}]}", "type", "Sequence", "decoders", "type", "Fuse", "type",
                                  "Strip", "content", " ", "start", 1));
}
static void m_vocab_id(json_t *r) { json_object_set_new(json_object_get(MODEL(r), "vocab"), "x", json_string("1")); }
static void m_split(json_t *r)
{
    json_object_set_new(r, "pre_tokenizer",
                        json_pack("{ss s[{ss s{ss} ss sb}]}", "type", "Sequence", "pretokenizers", "type", "Split",
                                  "pattern", "Regex", "\\s+", "behavior", "Dropped", "invert", 0));
}
static void m_regex(json_t *r)
{
    json_object_set_new(r, "pre_tokenizer",
                        json_pack("{ss s[{ss s{ss} ss sb} {ss}]}", "type", "Sequence", "pretokenizers", "type",
                                  "Split", "pattern", "Regex", "(unclosed", "behavior", "Isolated", "invert", 0,
                                  "type", "ByteLevel"));
}
static void m_added(json_t *r) { json_object_set_new(json_array_get(json_object_get(r, "added_tokens"), 0), "content", json_string("")); }

static void test_malformed_json_names_field(void **state)
{
    (void)state;
    expect_format_error(m_normalizer, "normalizer.normalizers[1].type");
    expect_format_error(m_model_type, "model.type");
    expect_format_error(m_merge_unknown, "model.merges[3]");
    expect_format_error(m_merge_form, "model.merges[5]");
    expect_format_error(m_pretok, "pre_tokenizer.type");
    expect_format_error(m_decoder, "decoder.type");
    expect_format_error(m_post, "post_processor.type");
    expect_format_error(m_dropout, "model.dropout");
    expect_format_error(m_unigram, "model.type");
    expect_format_error(m_unk, "model.unk_token");
    expect_format_error(m_metaspace, "pre_tokenizer.replacement");
    expect_format_error(m_strip, "decoder.decoders[1].start/stop");
    expect_format_error(m_vocab_id, "model.vocab[\"x\"]");
    expect_format_error(m_split, "pre_tokenizer.pretokenizers[0].behavior");
    expect_format_error(m_regex, "pre_tokenizer.pretokenizers[0].pattern");
    expect_format_error(m_added, "added_tokens[0].content");
    hx_tokenizer *t = NULL;
    assert_int_equal(load_text("{\"model\": [1,", &t), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "invalid JSON"));
    assert_int_equal(hx_tokenizer_load("/nonexistent/tokenizer.json", &t), HX_EIO);
}

static void test_cli_encode(void **state)
{
    (void)state;
    const char *harness = getenv("HX_HARNESS");
    if (!harness || access(harness, X_OK)) {
        printf("SKIP: HX_HARNESS not set or not executable; CLI not tested\n");
        return;
    }
    char cmd[512], out[256] = "";
    snprintf(cmd, sizeof(cmd), "%s tokenizer-encode --tokenizer " FIX "llama3.json 'In the beginning'", harness);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, sizeof(out), p));
    assert_int_equal(pclose(p), 0);
    hx_tokenizer *t = load_tok(FIX "llama3.json");
    int32_t *ids;
    size_t n;
    assert_int_equal(hx_tokenizer_encode(t, "In the beginning", 16, 1, &ids, &n), HX_OK);
    char want[256];
    size_t o = 0;
    for (size_t i = 0; i < n; i++) o += (size_t)snprintf(want + o, sizeof(want) - o, i ? " %d" : "%d", ids[i]);
    snprintf(want + o, sizeof(want) - o, "\n");
    assert_string_equal(out, want);
    free(ids);
    hx_tokenizer_free(t);
}

/* Optional: HF tokenizers (Python) encodes a text with our trained tokenizer.json identically. */
static void test_optional_hf_interop(void **state)
{
    (void)state;
    if (system("python3 -c 'import tokenizers' >/dev/null 2>&1") != 0) {
        printf("SKIP: python3 with the tokenizers package is not available; HF interop not checked\n");
        return;
    }
    size_t len;
    char *text = sample_text(&len);
    hx_tokenizer *t = train(text, 800, 2);
    char *tok = tmp_path("interop.json"), *txt = tmp_path("interop.txt"), *idf = tmp_path("interop.ids");
    assert_int_equal(hx_tokenizer_save(t, tok), HX_OK);
    assert_int_equal(hx_write_file_atomic(txt, text, len), HX_OK);
    int32_t *ids;
    size_t n;
    assert_int_equal(hx_tokenizer_encode(t, text, len, 1, &ids, &n), HX_OK);
    FILE *f = fopen(idf, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%d\n", ids[i]);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "python3 tools/check_tokenizer_interop.py %s %s %s", tok, txt, idf);
    assert_int_equal(system(cmd), 0);
    printf("NOTE: HF tokenizers matches our %zu ids on a %zu-byte text\n", n, len);
    free(ids);
    free(tok);
    free(txt);
    free(idf);
    free(text);
    hx_tokenizer_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpt2_matches_hf),
        cmocka_unit_test(test_gpt2_prefix_space_matches_hf),
        cmocka_unit_test(test_llama3_matches_hf),
        cmocka_unit_test(test_random_utf8_round_trips),
        cmocka_unit_test(test_invalid_utf8_gives_offset),
        cmocka_unit_test(test_c10_exactly_one_bos),
        cmocka_unit_test(test_ignore_merges),
        cmocka_unit_test(test_merge_heap_worst_case),
        cmocka_unit_test(test_train_toy_corpus_exact_merges),
        cmocka_unit_test(test_train_save_load_identical),
        cmocka_unit_test(test_malformed_json_names_field),
        cmocka_unit_test(test_cli_encode),
        cmocka_unit_test(test_optional_hf_interop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
