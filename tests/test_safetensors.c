/* Tests for harness/model/safetensors.c: scalar conversions on known bit
 * patterns, F32/BF16/I32 round trips (single file and sharded), and every
 * kind of corrupt file, each error naming the file and the tensor. */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "cpu/convert.h"
#include "model/safetensors.h"

#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static float f_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void test_bf16_rounding(void **state)
{
    (void)state;
    assert_int_equal(hx_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(hx_f32_to_bf16(f_of(0x3f808000)), 0x3f80); /* tie, even stays */
    assert_int_equal(hx_f32_to_bf16(f_of(0x3f818000)), 0x3f82); /* tie, odd rounds up */
    assert_int_equal(hx_f32_to_bf16(f_of(0x3f808001)), 0x3f81); /* above the tie */
    assert_int_equal(hx_f32_to_bf16(f_of(0x3f807fff)), 0x3f80); /* below the tie */
    assert_int_equal(hx_f32_to_bf16(f_of(0xbf818000)), 0xbf82); /* negative tie */
    assert_int_equal(hx_f32_to_bf16(-0.0f), 0x8000);
    assert_int_equal(hx_f32_to_bf16(INFINITY), 0x7f80);
    assert_int_equal(hx_f32_to_bf16(-INFINITY), 0xff80);
    assert_int_equal(hx_f32_to_bf16(FLT_MAX), 0x7f80); /* overflow rounds to inf, as torch */
    assert_int_equal(hx_f32_to_bf16(f_of(0x7f7f7fff)), 0x7f7f);
    /* NaNs stay NaN, even a signalling one whose payload is only in the low bits. */
    uint16_t n1 = hx_f32_to_bf16(f_of(0x7f800001)), n2 = hx_f32_to_bf16(f_of(0xffc00000));
    assert_true(isnan(hx_bf16_to_f32(n1)) && isnan(hx_bf16_to_f32(n2)));
    assert_int_equal(n2 & 0x8000, 0x8000);
    /* Subnormal f32 with a tie at the bf16 boundary: 0x00008000 -> 0x0000. */
    assert_int_equal(hx_f32_to_bf16(f_of(0x00008000)), 0x0000);
    assert_int_equal(hx_f32_to_bf16(f_of(0x00018000)), 0x0002);
    assert_true(hx_bf16_to_f32(0x4049) == 3.140625f);
}

static void test_f16_conversion(void **state)
{
    (void)state;
    assert_true(hx_f16_to_f32(0x3c00) == 1.0f);
    assert_true(hx_f16_to_f32(0xc000) == -2.0f);
    assert_true(hx_f16_to_f32(0x7bff) == 65504.0f);
    assert_true(hx_f16_to_f32(0x0400) == ldexpf(1, -14)); /* smallest normal */
    assert_true(hx_f16_to_f32(0x0001) == ldexpf(1, -24)); /* smallest subnormal */
    assert_true(hx_f16_to_f32(0x03ff) == ldexpf(1023, -24));
    assert_true(hx_f16_to_f32(0x8001) == -ldexpf(1, -24));
    float z = hx_f16_to_f32(0x8000);
    assert_true(z == 0 && signbit(z));
    assert_true(isinf(hx_f16_to_f32(0x7c00)) && hx_f16_to_f32(0x7c00) > 0);
    assert_true(isinf(hx_f16_to_f32(0xfc00)) && hx_f16_to_f32(0xfc00) < 0);
    assert_true(isnan(hx_f16_to_f32(0x7e00)) && isnan(hx_f16_to_f32(0x7c01)));
    assert_true(hx_f16_to_f32(0x3555) == 0.333251953125f); /* 2^-2 * (1 + 341/1024) */
}

/* ---- helpers ---- */


/* Writes a safetensors file by hand: header text `hdr` (not padded) and
 * `data_len` bytes of data (byte i = i & 0xff), and `hlen_override` as the
 * header length when non-zero. */
static void raw_file(const char *path, const char *hdr, size_t data_len, uint64_t hlen_override)
{
    size_t hl = strlen(hdr);
    uint8_t *buf = malloc(8 + hl + data_len + 1);
    uint64_t n = hlen_override ? hlen_override : hl;
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(n >> (8 * i));
    memcpy(buf + 8, hdr, hl);
    for (size_t i = 0; i < data_len; i++) buf[8 + hl + i] = (uint8_t)i;
    assert_int_equal(hx_write_file_atomic(path, buf, 8 + hl + data_len), HX_OK);
    free(buf);
}

/* Opening `path` must fail with `code` and a message holding both strings. */
static void expect_open_error(const char *path, int code, const char *s1, const char *s2)
{
    hx_st *st = NULL;
    int rc = hx_st_open(path, &st);
    if (rc != code) fail_msg("%s: expected %s, got %s (%s)", path, hx_strstatus(code), hx_strstatus(rc), hx_errmsg());
    assert_null(st);
    if (s1 && !strstr(hx_errmsg(), s1)) fail_msg("error '%s' lacks '%s'", hx_errmsg(), s1);
    if (s2 && !strstr(hx_errmsg(), s2)) fail_msg("error '%s' lacks '%s'", hx_errmsg(), s2);
}

/* ---- round trips ---- */

static float a23[6] = {1.5f, -2.25f, 3.0e-8f, 1e30f, -0.0f, 7.0f};
static float b4[4] = {0.1f, 0.2f, 0.3f, 1.00390625f /* 1 + 2^-8: a bf16 tie */};
static int32_t ids[5] = {0, -1, 2147483647, -2147483647 - 1, 42};
static float scalar = 3.25f;

static void fill_entries(hx_st_entry *e, hx_dtype fdt)
{
    e[0] = (hx_st_entry){"model.a", a23, HX_DT_F32, fdt, 2, {2, 3}};
    e[1] = (hx_st_entry){"b", b4, HX_DT_F32, fdt, 1, {4}};
    e[2] = (hx_st_entry){"ids", ids, HX_DT_I32, HX_DT_I32, 1, {5}};
    e[3] = (hx_st_entry){"scalar", &scalar, HX_DT_F32, HX_DT_F32, 0, {0}};
    e[4] = (hx_st_entry){"empty", NULL, HX_DT_F32, fdt, 2, {0, 3}};
}

static void check_entries(const hx_st *st, hx_dtype fdt)
{
    assert_int_equal(hx_st_count(st), 5);
    const hx_st_tensor *t = hx_st_find(st, "model.a");
    assert_non_null(t);
    assert_int_equal(t->dtype, fdt);
    assert_int_equal(t->ndim, 2);
    assert_true(t->shape[0] == 2 && t->shape[1] == 3);
    float got[6];
    assert_int_equal(hx_st_read_f32(st, t, got, 6), HX_OK);
    for (int i = 0; i < 6; i++) {
        float want = fdt == HX_DT_F32 ? a23[i] : hx_bf16_to_f32(hx_f32_to_bf16(a23[i]));
        assert_memory_equal(&got[i], &want, 4);
    }
    t = hx_st_find(st, "b");
    assert_int_equal(hx_st_read_f32(st, t, got, 4), HX_OK);
    if (fdt == HX_DT_BF16) {
        assert_true(got[3] == 1.0f);       /* tie rounds to even */
        assert_true(got[0] == 0.10009765625f); /* 0.1 -> 0x3dcd */
    } else {
        assert_memory_equal(got, b4, sizeof b4);
    }
    int32_t gi[5];
    t = hx_st_find(st, "ids");
    assert_int_equal(t->dtype, HX_DT_I32);
    assert_int_equal(hx_st_read_i32(st, t, gi, 5), HX_OK);
    assert_memory_equal(gi, ids, sizeof ids);
    t = hx_st_find(st, "scalar");
    assert_int_equal(t->ndim, 0);
    assert_int_equal(hx_st_numel(t), 1);
    assert_int_equal(hx_st_read_f32(st, t, got, 1), HX_OK);
    assert_true(got[0] == 3.25f);
    t = hx_st_find(st, "empty");
    assert_int_equal(hx_st_numel(t), 0);
    assert_null(hx_st_find(st, "nope"));
    /* Wrong destination size is refused and named. */
    assert_int_equal(hx_st_read_f32(st, hx_st_find(st, "b"), got, 3), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "'b'"));
    /* A float tensor is not an integer tensor. */
    assert_int_equal(hx_st_read_i32(st, hx_st_find(st, "b"), gi, 4), HX_EINVAL);
}

static void test_roundtrip_single(void **state)
{
    (void)state;
    hx_dtype dts[2] = {HX_DT_F32, HX_DT_BF16};
    for (int k = 0; k < 2; k++) {
        hx_st_entry e[5];
        fill_entries(e, dts[k]);
        assert_int_equal(hx_st_write(hx_tmpdir, NULL, e, 5, 0), HX_OK);
        /* HF layout: header length a multiple of 8, padded with spaces. */
        char *buf;
        size_t len;
        assert_int_equal(hx_read_file(hx_tmp_path("model.safetensors"), &buf, &len), HX_OK);
        uint64_t hl;
        memcpy(&hl, buf, 8);
        assert_int_equal(hl % 8, 0);
        assert_true(buf[8] == '{');
        size_t j = 8 + hl - 1;
        while (buf[j] == ' ') j--;
        assert_true(buf[j] == '}');
        assert_non_null(strstr(buf + 8, "\"__metadata__\":{\"format\":\"pt\"}"));
        free(buf);
        hx_st *st;
        assert_int_equal(hx_st_open(hx_tmp_path("model.safetensors"), &st), HX_OK);
        check_entries(st, dts[k]);
        hx_st_close(st);
        assert_int_equal(hx_st_open(hx_tmpdir, &st), HX_OK); /* the directory form */
        check_entries(st, dts[k]);
        hx_st_close(st);
    }
}

static void test_roundtrip_sharded(void **state)
{
    (void)state;
    hx_st_entry e[5];
    fill_entries(e, HX_DT_F32);
    /* 24 + 16 + 20 + 4 + 0 bytes, 30-byte limit, greedy: {model.a}, {b}, {ids, scalar, empty}. */
    assert_int_equal(hx_st_write(hx_tmpdir, NULL, e, 5, 30), HX_OK);
    assert_int_equal(access(hx_tmp_path("model-00001-of-00003.safetensors"), F_OK), 0);
    assert_int_equal(access(hx_tmp_path("model-00003-of-00003.safetensors"), F_OK), 0);
    assert_int_not_equal(access(hx_tmp_path("model.safetensors"), F_OK), 0);
    json_error_t je;
    json_t *idx = json_load_file(hx_tmp_path("model.safetensors.index.json"), 0, &je);
    assert_non_null(idx);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(idx, "metadata"), "total_size")), 64);
    json_t *wm = json_object_get(idx, "weight_map");
    assert_string_equal(json_string_value(json_object_get(wm, "model.a")), "model-00001-of-00003.safetensors");
    assert_string_equal(json_string_value(json_object_get(wm, "b")), "model-00002-of-00003.safetensors");
    assert_string_equal(json_string_value(json_object_get(wm, "ids")), "model-00003-of-00003.safetensors");
    json_decref(idx);
    hx_st *st;
    assert_int_equal(hx_st_open(hx_tmpdir, &st), HX_OK);
    check_entries(st, HX_DT_F32);
    assert_string_equal(hx_st_path(st, hx_st_find(st, "b")), hx_tmp_path("model-00002-of-00003.safetensors"));
    hx_st_close(st);
    assert_int_equal(hx_st_open(hx_tmp_path("model.safetensors.index.json"), &st), HX_OK);
    check_entries(st, HX_DT_F32);
    hx_st_close(st);

    /* An index that puts a tensor in the wrong shard is refused, naming it:
     * found in a shard the index does not name for it, ... */
    idx = json_load_file(hx_tmp_path("model.safetensors.index.json"), 0, &je);
    json_t *wm2 = json_object_get(idx, "weight_map");
    json_object_set_new(wm2, "ids", json_string("model-00002-of-00003.safetensors"));
    assert_int_equal(hx_json_write_atomic(hx_tmp_path("model.safetensors.index.json"), idx), HX_OK);
    expect_open_error(hx_tmpdir, HX_EFORMAT, "'ids'", "model-00003-of-00003.safetensors: ");
    /* ... or mapped to a shard that does not hold it. */
    json_object_set_new(wm2, "ids", json_string("model-00003-of-00003.safetensors"));
    json_object_set_new(wm2, "b", json_string("model-00001-of-00003.safetensors"));
    assert_int_equal(hx_json_write_atomic(hx_tmp_path("model.safetensors.index.json"), idx), HX_OK);
    expect_open_error(hx_tmpdir, HX_EFORMAT, "'b'", "model-00001-of-00003.safetensors");
    /* An index naming a tensor no shard holds. */
    json_object_set_new(wm2, "b", json_string("model-00002-of-00003.safetensors"));
    json_object_set_new(wm2, "ghost", json_string("model-00002-of-00003.safetensors"));
    assert_int_equal(hx_json_write_atomic(hx_tmp_path("model.safetensors.index.json"), idx), HX_OK);
    expect_open_error(hx_tmpdir, HX_EFORMAT, "'ghost'", "model.safetensors.index.json");
    json_decref(idx);

    /* Re-saving as one file removes the stale index. */
    assert_int_equal(hx_st_write(hx_tmpdir, NULL, e, 5, 0), HX_OK);
    assert_int_not_equal(access(hx_tmp_path("model.safetensors.index.json"), F_OK), 0);
    assert_int_equal(hx_st_open(hx_tmpdir, &st), HX_OK);
    check_entries(st, HX_DT_F32);
    hx_st_close(st);
}

static void test_read_f16_and_i64(void **state)
{
    (void)state;
    /* F16 [1, 2^-24, -inf, 65504] then I64 [5, -7] then I64 [2^31]. */
    uint8_t data[8 + 16 + 8];
    uint16_t h[4] = {0x3c00, 0x0001, 0xfc00, 0x7bff};
    int64_t l[3] = {5, -7, 2147483648LL};
    memcpy(data, h, 8);
    memcpy(data + 8, l, 24);
    const char *hdr = "{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
                      "\"l\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[8,24]},"
                      "\"big\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[24,32]},"
                      "\"__metadata__\":{\"format\":\"pt\"}}";
    size_t hl = strlen(hdr);
    uint8_t *buf = malloc(8 + hl + sizeof data);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, hdr, hl); /* odd header length: data is unaligned in the map */
    memcpy(buf + 8 + hl, data, sizeof data);
    assert_int_equal(hx_write_file_atomic(hx_tmp_path("x.safetensors"), buf, 8 + hl + sizeof data), HX_OK);
    free(buf);
    hx_st *st;
    assert_int_equal(hx_st_open(hx_tmp_path("x.safetensors"), &st), HX_OK);
    float f[4];
    assert_int_equal(hx_st_read_f32(st, hx_st_find(st, "h"), f, 4), HX_OK);
    assert_true(f[0] == 1.0f && f[1] == ldexpf(1, -24) && isinf(f[2]) && f[2] < 0 && f[3] == 65504.0f);
    int32_t v[2];
    assert_int_equal(hx_st_read_i32(st, hx_st_find(st, "l"), v, 2), HX_OK);
    assert_true(v[0] == 5 && v[1] == -7);
    assert_int_equal(hx_st_read_f32(st, hx_st_find(st, "l"), f, 2), HX_OK);
    assert_true(f[0] == 5.0f && f[1] == -7.0f);
    assert_int_equal(hx_st_read_i32(st, hx_st_find(st, "big"), v, 1), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "'big'"));
    assert_non_null(strstr(hx_errmsg(), "2147483648"));
    hx_st_close(st);
}

/* ---- corrupt files, each built from a good one ---- */

static void test_bad_files(void **state)
{
    (void)state;
    hx_st_entry e[5];
    fill_entries(e, HX_DT_F32);
    assert_int_equal(hx_st_write(hx_tmpdir, NULL, e, 5, 0), HX_OK);
    char *good;
    size_t len;
    assert_int_equal(hx_read_file(hx_tmp_path("model.safetensors"), &good, &len), HX_OK);
    uint64_t hl;
    memcpy(&hl, good, 8);
    const char *p;

    /* Truncated data: the last tensor by offset runs past the end. F32 entries
     * come first (size 4, by name): b, empty, ids, model.a, scalar. */
    p = hx_tmp_path("trunc.safetensors");
    assert_int_equal(hx_write_file_atomic(p, good, len - 3), HX_OK);
    expect_open_error(p, HX_EFORMAT, p, "'scalar'");
    /* Header length past the end of the file. */
    memcpy(good, &(uint64_t){len}, 8);
    p = hx_tmp_path("hlen.safetensors");
    assert_int_equal(hx_write_file_atomic(p, good, len), HX_OK);
    expect_open_error(p, HX_EFORMAT, p, "past the end of the file");
    memcpy(good, &hl, 8);
    /* Shorter than the 8-byte length field. */
    p = hx_tmp_path("tiny.safetensors");
    assert_int_equal(hx_write_file_atomic(p, good, 5), HX_OK);
    expect_open_error(p, HX_EFORMAT, p, "too short");
    /* Malformed JSON: cut the header's closing brace. */
    p = hx_tmp_path("json.safetensors");
    char *bad = malloc(len);
    memcpy(bad, good, len);
    char *brace = memrchr(bad + 8, '}', hl);
    *brace = ' ';
    assert_int_equal(hx_write_file_atomic(p, bad, len), HX_OK);
    expect_open_error(p, HX_EFORMAT, p, "malformed JSON");
    /* Unknown dtype: same length, so only the dtype is wrong. */
    memcpy(bad, good, len);
    char *dt = strstr(bad + 8, "\"I32\"");
    memcpy(dt, "\"Q32\"", 5);
    p = hx_tmp_path("dtype.safetensors");
    assert_int_equal(hx_write_file_atomic(p, bad, len), HX_OK);
    expect_open_error(p, HX_EFORMAT, "'ids'", "Q32");
    free(bad);
    free(good);

    /* Overlapping offsets. */
    p = hx_tmp_path("overlap.safetensors");
    raw_file(p,
             "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
             "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
             16, 0);
    expect_open_error(p, HX_EFORMAT, "'x'", "'y'");
    assert_non_null(strstr(hx_errmsg(), "overlap"));
    /* Offsets out of range (file otherwise whole). */
    p = hx_tmp_path("range.safetensors");
    raw_file(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}", 16, 0);
    expect_open_error(p, HX_EFORMAT, "'x'", "past the 16-byte data buffer");
    /* shape x dtype != end - begin. */
    p = hx_tmp_path("size.safetensors");
    raw_file(p, "{\"x\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, 0);
    expect_open_error(p, HX_EFORMAT, "'x'", "8 bytes");
    /* end < begin, negative shape, missing data_offsets, duplicate names. */
    p = hx_tmp_path("order.safetensors");
    raw_file(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 16, 0);
    expect_open_error(p, HX_EFORMAT, "'x'", "end 0 < begin 8");
    raw_file(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", 16, 0);
    expect_open_error(p, HX_EFORMAT, "'x'", "shape[0]");
    raw_file(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[4]}}", 16, 0);
    expect_open_error(p, HX_EFORMAT, "'x'", "data_offsets");
    raw_file(p,
             "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
             8, 0);
    expect_open_error(p, HX_EFORMAT, p, "duplicate");
    /* Header length beyond the 100 MB limit; not a JSON object. */
    raw_file(p, "{}", 0, 200000000ULL);
    expect_open_error(p, HX_EFORMAT, p, "limit");
    raw_file(p, "[1,2]", 0, 0);
    expect_open_error(p, HX_EFORMAT, p, "'{'");
    /* Missing file and a directory without weights. */
    expect_open_error(hx_tmp_path("none.safetensors"), HX_EIO, "none.safetensors", NULL);
    char *sub = hx_path_join(hx_tmpdir, "emptydir");
    assert_int_equal(hx_mkdir_p(sub), HX_OK);
    expect_open_error(sub, HX_EIO, "emptydir", "no model.safetensors");
    free(sub);
}

static void test_write_rejects_bad_entries(void **state)
{
    (void)state;
    hx_st_entry e[2] = {{"a", b4, HX_DT_F32, HX_DT_F16, 1, {4}}, {"a", b4, HX_DT_F32, HX_DT_F32, 1, {4}}};
    assert_int_equal(hx_st_write(hx_tmpdir, NULL, e, 1, 0), HX_EINVAL); /* F16 output not offered */
    assert_non_null(strstr(hx_errmsg(), "'a'"));
    e[0].dtype = HX_DT_F32;
    assert_int_equal(hx_st_write(hx_tmpdir, NULL, e, 2, 0), HX_EINVAL); /* duplicate name */
    assert_non_null(strstr(hx_errmsg(), "twice"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bf16_rounding),
        cmocka_unit_test(test_f16_conversion),
        cmocka_unit_test_setup_teardown(test_roundtrip_single, hx_tmp_setup, hx_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_sharded, hx_tmp_setup, hx_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_read_f16_and_i64, hx_tmp_setup, hx_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, hx_tmp_setup, hx_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_write_rejects_bad_entries, hx_tmp_setup, hx_tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
