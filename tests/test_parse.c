/* The one strict number parser (core/parse.h), and every command's use of it:
 * a malformed number on any command line is refused, naming the option. */
#include "test_util.h"

#include "core/parse.h"

#include <math.h>
#include <sys/wait.h>

static void test_counts(void **state)
{
    (void)state;
    struct {
        const char *s;
        int64_t want;
    } ok[] = {{"0", 0},         {"42", 42},       {"-3", -3},      {"60k", 60000},
              {"1.8B", 1800000000}, {"94e9", 94000000000LL}, {"2T", 2000000000000LL}, {"3M", 3000000},
              {"1.5K", 1500},   {"9000000000000000000", 9000000000000000000LL}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        assert_int_equal(hx_parse_count(ok[i].s, &v), 0);
        assert_true(v == ok[i].want);
    }
    /* trailing garbage, fractions, blanks, overflow, non-finite */
    const char *bad[] = {"", " 5", "5 ", "1.8X", "12abc", "1.5", "0.0001k", "k", "1kk", "nan", "inf", "1e400", "--1",
                         "0x10", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 7;
        assert_int_equal(hx_parse_count(bad[i], &v), -1);
        assert_true(v == 7);
    }
}

static void test_doubles_seeds_enums(void **state)
{
    (void)state;
    double d = 0;
    assert_int_equal(hx_parse_double("3e-4", &d), 0);
    assert_true(d == 3e-4);
    assert_int_equal(hx_parse_double("-0.5", &d), 0);
    assert_true(d == -0.5);
    const char *bad[] = {"", "1e-4x", "nan", "inf", "1e999", " 1", "1,5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(hx_parse_double(bad[i], &d), -1);
    uint64_t u = 0;
    assert_int_equal(hx_parse_u64("18446744073709551615", &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(hx_parse_u64("18446744073709551616", &u), -1);
    assert_int_equal(hx_parse_u64("-1", &u), -1);
    assert_int_equal(hx_parse_u64("1k", &u), -1);
    static const char *const names[] = {"stop", "skip", NULL};
    int e = -1;
    assert_int_equal(hx_opt_enum("on-error", "skip", names, &e), HX_OK);
    assert_int_equal(e, 1);
    assert_int_equal(hx_opt_enum("on-error", "Skip", names, &e), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "--on-error"));
    assert_non_null(strstr(hx_errmsg(), "stop, skip"));
    /* errors name the option and the range */
    int n = 0;
    assert_int_equal(hx_opt_int("micro-batch", "0", 1, 100, &n), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "--micro-batch"));
    assert_int_equal(hx_opt_int("micro-batch", "3x", 1, 100, &n), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "'3x'"));
    int *list = NULL, k = 0;
    assert_int_equal(hx_opt_int_list("drop-layers", "1,2,5", 0, 9, &list, &k), HX_OK);
    assert_int_equal(k, 3);
    assert_int_equal(list[2], 5);
    assert_int_equal(hx_opt_int_list("drop-layers", "1,,2", 0, 9, &list, &k), HX_EINVAL);
    assert_int_equal(hx_opt_int_list("drop-layers", "1,", 0, 9, &list, &k), HX_EINVAL);
    assert_int_equal(k, 3); /* untouched on error */
    free(list);
}

/* Runs `harness ARGS`, which must exit with status 1 or 2 and print `want`
 * on stderr. */
static void refused(const char *args, const char *want)
{
    const char *h = getenv("HX_HARNESS") ? getenv("HX_HARNESS") : "bin/harness";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1 >/dev/null", h, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[4096] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose(p);
    if (!WIFEXITED(st) || (WEXITSTATUS(st) != 1 && WEXITSTATUS(st) != 2) || !strstr(out, want))
        fail_msg("harness %s: exit %d, stderr:\n%s\n(expected '%s')", args, WEXITSTATUS(st), out, want);
}

static void test_every_command_is_strict(void **state)
{
    (void)state;
    refused("train --config x.json --train d --tokens 1.8X", "--tokens: '1.8X'");
    refused("train --config x.json --train d --tokens 1000 --micro-batch 2b", "--micro-batch");
    refused("train --config x.json --train d --tokens 1000 --lr 3e-4x", "--lr");
    refused("train --config x.json --train d --tokens 1000 --seed -1", "--seed");
    refused("eval --model m --batch 8x", "--batch");
    refused("eval --model m --max-length 1.5", "--max-length");
    refused("eval --model m --seed 12z", "--seed");
    refused("tokenize --tokenizer t --out o --shard-tokens 1e3x f", "--shard-tokens");
    refused("tokenize --tokenizer t --out o --on-error ignore f", "--on-error");
    refused("tokenizer-train --vocab 4k2 --out o f", "--vocab");
    refused("importance --model m --data d --out o --samples 10q", "--samples");
    refused("prune --model m --out o --hidden-size 12.5", "--hidden-size");
    refused("prune --model m --out o --drop-layers 1,,2", "--drop-layers");
    refused("search --model m --tokens 5e", "--tokens");
    refused("run x.yaml --gflops fast", "--gflops");
    refused("bench --steps 0", "--steps");
    refused("make-corpus-task --valid v --out o --n 3.7", "--n");
    const char *h = getenv("HX_HARNESS") ? getenv("HX_HARNESS") : "bin/harness";
    char cmd[512];
    snprintf(cmd, sizeof cmd, "HX_THREADS=2x %s inspect . 2>&1 | grep -q \"HX_THREADS='2x'\"", h);
    assert_int_equal(system(cmd), 0);
    /* Defect 10: the help no longer claims that scores do not depend on the batch size. */
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "%s %s --help | grep -q 'bit for bit only at equal' && ! %s %s --help | grep -q "
                 "'do not depend on it'", h, i ? "eval" : "importance", h, i ? "eval" : "importance");
        assert_int_equal(system(cmd), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_doubles_seeds_enums),
        cmocka_unit_test(test_every_command_is_strict),
    };
    return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
