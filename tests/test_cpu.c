/* CPU feature detection and the OpenBLAS kernel bin/harness runs: the one
 * chosen from the features (never one the CPU cannot run), HX_BLAS_CORE
 * overriding it, and the choice recorded for provenance. */
#include "test_util.h"

#include "core/cpu.h"

#include <sys/wait.h>

/* The last "Core: NAME" that OpenBLAS prints with OPENBLAS_VERBOSE=2 when
 * `env` bin/harness starts. */
static void harness_core(const char *env, char *out, size_t n)
{
    const char *h = getenv("HX_HARNESS") ? getenv("HX_HARNESS") : "bin/harness";
    char cmd[512], line[256];
    snprintf(cmd, sizeof cmd, "env OPENBLAS_VERBOSE=2 %s %s --version 2>&1", env, h);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[0] = 0;
    while (fgets(line, sizeof line, p))
        if (!strncmp(line, "Core: ", 6)) snprintf(out, n, "%.*s", (int)strcspn(line + 6, "\r\n"), line + 6);
    assert_int_equal(WEXITSTATUS(pclose(p)), 0);
}

static void test_features_and_choice(void **state)
{
    (void)state;
    hx_cpu_features f;
    hx_cpu_detect(&f);
    char s[256];
    hx_cpu_feature_string(&f, s, sizeof s);
    printf("NOTE: %s %s: %s -> OpenBLAS core %s\n", f.vendor, f.brand, s,
           hx_cpu_openblas_core(&f) ? hx_cpu_openblas_core(&f) : "(library's choice)");
#if defined(__x86_64__)
    assert_true(strlen(f.vendor) == 12);
#endif
    /* what the choice needs, the CPU has */
    const char *core = hx_cpu_openblas_core(&f);
    if (core && !strcmp(core, "SkylakeX")) assert_true(f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.fma);
    if (core && !strcmp(core, "Haswell")) assert_true(f.avx2 && f.fma);
    if (!f.avx2 || !f.fma) assert_null(core);
    /* the feature string lists exactly the usable features */
    assert_int_equal(strstr(s, "avx512f") != NULL, f.avx512f);
    assert_int_equal(strstr(s, "avx512_bf16") != NULL, f.avx512_bf16);
    hx_cpu_features none;
    memset(&none, 0, sizeof none);
    assert_null(hx_cpu_openblas_core(&none));
    none.avx2 = none.fma = 1;
    assert_string_equal(hx_cpu_openblas_core(&none), "Haswell");
    none.avx512f = none.avx512bw = none.avx512vl = 1; /* no DQ: not SkylakeX */
    assert_string_equal(hx_cpu_openblas_core(&none), "Haswell");
}

static void test_harness_runs_the_chosen_kernel(void **state)
{
    (void)state;
    hx_cpu_features f;
    hx_cpu_detect(&f);
    const char *core = hx_cpu_openblas_core(&f);
    char got[64];
    if (!core) {
        printf("SKIP: no AVX2/FMA: OpenBLAS keeps its own choice\n");
        return;
    }
    /* whatever OPENBLAS_CORETYPE the environment presets */
    harness_core("OPENBLAS_CORETYPE=Prescott", got, sizeof got);
    assert_string_equal(got, core);
    harness_core("", got, sizeof got);
    assert_string_equal(got, core);
    harness_core("HX_BLAS_CORE=Haswell", got, sizeof got);
    assert_string_equal(got, "Haswell");
    harness_core("HX_BLAS_CORE=openblas OPENBLAS_CORETYPE=Prescott", got, sizeof got);
    assert_string_equal(got, "Prescott");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_and_choice),
        cmocka_unit_test(test_harness_runs_the_chosen_kernel),
    };
    return cmocka_run_group_tests_name("cpu", tests, NULL, NULL);
}
