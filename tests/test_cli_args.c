/* The command-line parser (harness/core/args.h): value forms, flags,
 * positionals, ranges, enums, lists, required options, refusals with the
 * closest option named, and the usage and settings tables it writes. */
#include "test_util.h"

#include "core/args.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *model, *out, *pos;
    const char *texts[3];
    hx_arg_strs text;
    hx_arg_ints layers;
    int layer_vals[4]; /* copied before hx_cli_free */
    int n, flag, on, kind;
    int64_t tokens;
    uint64_t seed;
    double lr;
} opts;

static const char *const kinds[] = {"pre", "post", NULL};

/* Whether the settings table has a row "  NAME <spaces> VALUE". */
static int has_setting(const char *table, const char *name, const char *value)
{
    char want[128];
    for (int pad = 2; pad < 12; pad++) {
        snprintf(want, sizeof want, "\n  %s%*s%s\n", name, pad, "", value);
        if (strstr(table, want)) return 1;
    }
    fprintf(stderr, "no row %s = %s in:\n%s", name, value, table);
    return 0;
}

/* Parses argv (NULL-terminated, argv[0] the command) into *o with a fresh table;
 * returns 0 when parsing went on, else the exit code + 100. */
static int parse(opts *o, const char **argv, char *usage, size_t usage_len, char *settings, size_t settings_len)
{
    memset(o, 0, sizeof *o);
    o->text = (hx_arg_strs){o->texts, 0, 3};
    o->n = 4;
    o->on = 1;
    o->lr = 3e-4;
    hx_arg args[] = {
        {"model", HX_ARG_STR, &o->model, "DIR", "model", .required = 1},
        {"out", HX_ARG_STR, &o->out, "DIR", "output"},
        {"text", HX_ARG_STRS, &o->text, "PATH", "texts"},
        {"layers", HX_ARG_INTS, &o->layers, NULL, "layers", 1, 100},
        {"n", HX_ARG_INT, &o->n, "N", "count", 1, 10},
        {"tokens", HX_ARG_COUNT, &o->tokens, "N", "tokens", 0, 1e12},
        {"seed", HX_ARG_U64, &o->seed, NULL, "seed"},
        {"lr", HX_ARG_DOUBLE, &o->lr, NULL, "rate", 0, 1},
        {"flag", HX_ARG_FLAG, &o->flag, "", "a flag", .set = 1},
        {"no-on", HX_ARG_FLAG, &o->on, "", "clears on", .set = 0},
        {"kind", HX_ARG_ENUM, &o->kind, "K", "kind", .names = kinds},
        {"PATH", HX_ARG_POS, &o->pos, NULL, "a path"},
        {NULL},
    };
    hx_cli cli = {"probe", "A probe command.", args};
    int argc = 0;
    while (argv[argc]) argc++;
    FILE *u = fmemopen(usage, usage_len, "w");
    hx_cli_usage(&cli, u);
    fclose(u);
    int code = 0, stop = hx_cli_parse(&cli, argc, (char **)argv, &code);
    if (!stop && settings) {
        FILE *s = fmemopen(settings, settings_len, "w");
        hx_cli_settings(&cli, s);
        fclose(s);
    }
    int lists = o->layers.n;
    for (int i = 0; i < lists && i < 4; i++) o->layer_vals[i] = o->layers.v[i];
    hx_cli_free(&cli);
    assert_null(o->layers.v); /* freed */
    o->layers.n = lists;
    return stop ? 100 + code : 0;
}

static void test_values_and_forms(void **state)
{
    (void)state;
    opts o;
    char usage[4096], settings[4096];
    const char *a[] = {"probe", "--model", "m", "--out=o", "--text", "a", "--text=b", "--layers", "3,7", "--n", "10",
                       "--tokens", "1.5k", "--seed", "18446744073709551615", "--lr=0.5", "--flag", "--no-on",
                       "--kind", "post", "file", NULL};
    assert_int_equal(parse(&o, a, usage, sizeof usage, settings, sizeof settings), 0);
    assert_string_equal(o.model, "m");
    assert_string_equal(o.out, "o");
    assert_int_equal(o.text.n, 2);
    assert_string_equal(o.texts[1], "b");
    assert_int_equal(o.layers.n, 2);
    assert_int_equal(o.layer_vals[0], 3);
    assert_int_equal(o.layer_vals[1], 7);
    assert_int_equal(o.kind, 1);
    assert_int_equal(o.n, 10);
    assert_true(o.tokens == 1500);
    assert_true(o.seed == UINT64_MAX);
    assert_true(o.lr == 0.5);
    assert_int_equal(o.flag, 1);
    assert_int_equal(o.on, 0);
    assert_string_equal(o.pos, "file");
    /* usage: defaults from the table, required marks, enum names; settings: resolved values */
    assert_non_null(strstr(usage, "usage: harness probe --model DIR [options] [PATH]"));
    assert_non_null(strstr(usage, "(default 4)"));
    assert_non_null(strstr(usage, "(default 0.0003)"));
    assert_non_null(strstr(usage, "(pre|post)"));
    assert_non_null(strstr(usage, "[required]"));
    assert_non_null(strstr(settings, "harness probe settings:"));
    assert_true(has_setting(settings, "tokens", "1500"));
    assert_true(has_setting(settings, "layers", "3,7"));
    assert_true(has_setting(settings, "no-on", "yes"));
    assert_true(has_setting(settings, "kind", "post"));
    /* "--" makes the rest positional */
    const char *dash[] = {"probe", "--model", "m", "--", "--flag", NULL};
    assert_int_equal(parse(&o, dash, usage, sizeof usage, NULL, 0), 0);
    assert_string_equal(o.pos, "--flag");
    assert_int_equal(o.flag, 0);
}

static void test_refusals(void **state)
{
    (void)state;
    opts o;
    char usage[4096];
    struct {
        const char *argv[12];
        int code;
    } cases[] = {
        {{"probe", "--model", "m", "--modle", "x", NULL}, 2},       /* unknown, "did you mean --model" */
        {{"probe", "--out", "o", NULL}, 2},                          /* --model missing */
        {{"probe", "--model", NULL}, 2},                             /* no value */
        {{"probe", "--model", "m", "--n", "11", NULL}, 2},           /* out of range */
        {{"probe", "--model", "m", "--n", "2x", NULL}, 2},           /* not a number */
        {{"probe", "--model", "m", "--lr", "nan", NULL}, 2},         /* non-finite */
        {{"probe", "--model", "m", "--flag=1", NULL}, 2},            /* a flag with a value */
        {{"probe", "--model", "m", "--kind", "mid", NULL}, 2},       /* not an accepted name */
        {{"probe", "--model", "m", "--layers", "1,,2", NULL}, 2},    /* bad list */
        {{"probe", "--model", "m", "a", "b", NULL}, 2},              /* surplus positional */
        {{"probe", "-m", "m", NULL}, 2},                             /* short options do not exist */
        {{"probe", "--text", "1", "--text", "2", "--text", "3", "--text", NULL}, 2}, /* no value / too many */
        {{"probe", "--help", NULL}, 0},                              /* help: exit 0 */
        {{"probe", "--n", "99", "-h", NULL}, 0},                     /* help wins anywhere */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = parse(&o, cases[i].argv, usage, sizeof usage, NULL, 0);
        if (rc != 100 + cases[i].code) fail_msg("case %zu: got %d, want %d", i, rc, 100 + cases[i].code);
    }
    const char *four[] = {"probe", "--model", "m", "--text", "1", "--text", "2", "--text", "3", "--text", "4", NULL};
    assert_int_equal(parse(&o, four, usage, sizeof usage, NULL, 0), 102); /* at most 3 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_forms),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("cli_args", tests, NULL, NULL);
}
