/* Tests for harness/core: error messages, RNG determinism, atomic writes (and the
 * temporary files of killed writers), SHA-256. */
#include "test_util.h"

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_error_carries_file_line(void **state)
{
    (void)state;
    int rc = HX_ERR(HX_EFORMAT, "bad %s", "thing");
    assert_int_equal(rc, HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "test_core.c:"));
    assert_non_null(strstr(hx_errmsg(), "bad thing"));
    hx_adderr(rc, "while loading %s", "x.safetensors");
    assert_true(strncmp(hx_errmsg(), "while loading x.safetensors: ", 29) == 0);
}

/* hx_check_finite: HX_ENAN with the caller's file:line, the name and the
 * first bad element; finite arrays pass. */
static void test_check_finite(void **state)
{
    (void)state;
    float f[5] = {1, -2, 3e38f, 0, 5};
    double d[3] = {1, 2, 3};
    assert_int_equal(hx_check_finite(f, 5, "tensor '%s'", "w"), HX_OK);
    assert_int_equal(hx_check_finite_d(d, 3, "scores"), HX_OK);
    assert_int_equal(hx_check_finite(f, 0, "empty"), HX_OK);
    f[3] = NAN;
    f[4] = INFINITY;
    assert_int_equal(hx_check_finite(f, 5, "tensor '%s'", "model.norm.weight"), HX_ENAN);
    assert_non_null(strstr(hx_errmsg(), "test_core.c:"));
    assert_non_null(strstr(hx_errmsg(), "tensor 'model.norm.weight': element 3 is nan"));
    assert_int_equal(hx_check_finite(f + 4, 1, "loss"), HX_ENAN);
    assert_non_null(strstr(hx_errmsg(), ": loss is inf"));
    d[2] = -INFINITY;
    assert_int_equal(hx_check_finite_d(d, 3, "importance: %s", "bi"), HX_ENAN);
    assert_non_null(strstr(hx_errmsg(), "importance: bi: element 2 is -inf"));
}

static void test_rng_deterministic_and_distributed(void **state)
{
    (void)state;
    hx_rng a, b;
    hx_rng_seed(&a, 42);
    hx_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) assert_true(hx_rng_u64(&a) == hx_rng_u64(&b));
    hx_rng_seed(&b, 43);
    assert_true(hx_rng_u64(&a) != hx_rng_u64(&b));
    /* Moments of 200k normals: mean ~ 0, variance ~ 1 (5-sigma bounds). */
    double s = 0, s2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = hx_rng_normal(&a);
        s += x;
        s2 += x * x;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    assert_true(fabs(mean) < 5.0 / sqrt(n));
    assert_true(fabs(var - 1.0) < 5.0 * sqrt(2.0 / n));
    uint32_t perm[50];
    for (uint32_t i = 0; i < 50; i++) perm[i] = i;
    hx_rng_shuffle_u32(&a, perm, 50);
    int seen[50] = {0}, moved = 0;
    for (int i = 0; i < 50; i++) {
        seen[perm[i]]++;
        moved += perm[i] != (uint32_t)i;
    }
    for (int i = 0; i < 50; i++) assert_int_equal(seen[i], 1);
    assert_true(moved > 25);
}

static void test_atomic_write_and_sha256(void **state)
{
    (void)state;
    char dir[] = "/tmp/hx_core_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *sub = hx_path_join(dir, "a/b/c");
    assert_int_equal(hx_mkdir_p(sub), HX_OK);
    char *path = hx_path_join(sub, "f.txt");
    assert_int_equal(hx_write_file_atomic(path, "abc", 3), HX_OK);
    char *buf;
    size_t len;
    assert_int_equal(hx_read_file(path, &buf, &len), HX_OK);
    assert_int_equal(len, 3);
    assert_string_equal(buf, "abc");
    char hex[65];
    hx_sha256_hex(buf, len, hex);
    /* FIPS 180-2 test vector for "abc". */
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(hx_sha256_file(path, hex), HX_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* Writing into a missing directory fails cleanly and names the path. */
    char *bad = hx_path_join(dir, "missing/f.txt");
    assert_int_equal(hx_write_file_atomic(bad, "x", 1), HX_EIO);
    assert_non_null(strstr(hx_errmsg(), "missing"));
    assert_int_equal(hx_read_file(bad, &buf, &len) < 0 ? 0 : 1, 0);
    free(buf);
    free(bad);

    /* A writer SIGKILLed mid-write leaves "<path>.tmp.<pid>": the next write of the
     * path removes it once that pid is gone, and leaves a live writer's alone. */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) _exit(0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_true(hx_pid_gone(child));
    assert_false(hx_pid_gone(getppid()));
    char *dead = hx_strfmt("%s.tmp.%d", path, (int)child), *live = hx_strfmt("%s.tmp.%d", path, (int)getppid());
    char *other = hx_strfmt("%s.tmp.%dx", path, (int)child); /* not one of ours */
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(i == 0 ? dead : i == 1 ? live : other, "w");
        assert_non_null(f);
        fclose(f);
    }
    assert_int_equal(hx_write_file_atomic(path, "abcd", 4), HX_OK);
    assert_int_equal(access(dead, F_OK), -1);
    assert_int_equal(access(live, F_OK), 0);
    assert_int_equal(access(other, F_OK), 0);
    unlink(live);
    unlink(other);
    free(dead);
    free(live);
    free(other);
    free(path);
    free(sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_carries_file_line),
        cmocka_unit_test(test_check_finite),
        cmocka_unit_test(test_rng_deterministic_and_distributed),
        cmocka_unit_test(test_atomic_write_and_sha256),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
