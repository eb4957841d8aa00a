/* CPU feature detection and the OpenBLAS kernel bin/harness runs: the one
 * chosen from the features (never one the CPU cannot run), HX_BLAS_CORE
 * overriding it, and the choice recorded for provenance; the OpenMP wait
 * policy for the machine's load (a busy child process counts, a sleeping one
 * does not; a user's setting is kept). */
#include "test_util.h"

#include "core/cpu.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* The text after the last `key` in what `env ENV bin/harness ARGS` prints
 * (stdout and stderr), up to a quote or the line's end; "" when absent. */
static void harness_says(const char *env, const char *args, const char *key, char *out, size_t n)
{
    const char *h = getenv("HX_HARNESS") ? getenv("HX_HARNESS") : "bin/harness";
    char cmd[512], line[4096];
    snprintf(cmd, sizeof cmd, "env %s %s %s 2>&1", env, h, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[0] = 0;
    while (fgets(line, sizeof line, p)) {
        const char *at = strstr(line, key);
        if (at) snprintf(out, n, "%.*s", (int)strcspn(at + strlen(key), "\"\r\n"), at + strlen(key));
    }
    assert_int_equal(WEXITSTATUS(pclose(p)), 0);
}

/* The OpenBLAS core bin/harness runs under `env` (OpenBLAS prints "Core: NAME"). */
static void harness_core(const char *env, char *out, size_t n)
{
    char e[256];
    snprintf(e, sizeof e, "OPENBLAS_VERBOSE=2 %s", env);
    harness_says(e, "--version", "Core: ", out, n);
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

/* What `bench --json` records as the OpenMP wait policy under `env`. */
static void harness_wait(const char *env, char *out, size_t n)
{
    harness_says(env, "bench --suite tokenizer --steps 1 --json", "\"omp_wait\": \"", out, n);
}

static void test_wait_policy_follows_the_load(void **state)
{
    (void)state;
    assert_null(hx_cpu_wait_policy(0, 2, 2));
    assert_string_equal(hx_cpu_wait_policy(1, 2, 2), "passive");
    assert_null(hx_cpu_wait_policy(1, 2, 1));
    assert_string_equal(hx_cpu_wait_policy(2, 2, 1), "passive");
    char got[64];
    harness_wait("OMP_WAIT_POLICY=active", got, sizeof got);
    assert_string_equal(got, "active");
    pid_t idle = fork(); /* a sleeping process is not load */
    assert_true(idle >= 0);
    if (idle == 0) {
        pause();
        _exit(0);
    }
    harness_wait("", got, sizeof got);
    int quiet = !strcmp(got, "spin");
    pid_t busy = fork();
    assert_true(busy >= 0);
    if (busy == 0)
        for (volatile unsigned long i = 0;; i++) {
        }
    usleep(100000);
    assert_true(hx_cpu_others_running(3, 5) >= 1);
    char cores[32];
    snprintf(cores, sizeof cores, "HX_THREADS=%ld", sysconf(_SC_NPROCESSORS_ONLN));
    harness_wait(cores, got, sizeof got);
    assert_string_equal(got, "passive");
    kill(busy, SIGKILL);
    kill(idle, SIGKILL);
    waitpid(busy, NULL, 0);
    waitpid(idle, NULL, 0);
    if (!quiet) printf("NOTE: the machine was busy before the busy child started (%s)\n", got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_and_choice),
        cmocka_unit_test(test_harness_runs_the_chosen_kernel),
        cmocka_unit_test(test_wait_policy_follows_the_load),
    };
    return cmocka_run_group_tests_name("cpu", tests, NULL, NULL);
}
