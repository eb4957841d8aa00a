/* `harness bench`: benchmark suites (bench/bench.h), as text lines or one
 * JSON object. The benches sit beside cli/ on the top floor, so their
 * command lives here. */
#include "bench/bench.h" // defines: hx_bench_suites, hx_bench_run, hx_bench_opts
#include "core/args.h"    // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "core/err.h"    // defines: hx_report

#include <stdio.h>
#include <stdlib.h>

int hx_cmd_bench(int argc, char **argv)
{
    hx_bench_opts o = {3, 0};
    int json = 0;
    const char *names[16];
    hx_arg_strs sel = {names, 0, 16};
    hx_arg args[] = {
        {"suite", HX_ARG_STRS, &sel, "NAME", "run only this suite"},
        {"json", HX_ARG_FLAG, &json, "", "print one JSON object {suite: {key: value}}", .set = 1},
        {"steps", HX_ARG_INT, &o.steps, "N", "timed repetitions per measurement", 1, 1 << 20},
        {NULL},
    };
    char about[2048];
    size_t k = (size_t)snprintf(about, sizeof about,
                                "Runs benchmark suites (default: all but those run on request) on HX_THREADS threads.\n"
                                "suites:");
    for (const hx_bench_suite *s = hx_bench_suites; s->name && k < sizeof about; s++)
        k += (size_t)snprintf(about + k, sizeof about - k, "\n  %-10s %s%s", s->name, s->summary,
                              s->on_request ? " [on request]" : "");
    hx_cli cli = {"bench", about, args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    hx_cli_settings(&cli, stderr);
    json_t *all = json_object();
    int rc = hx_bench_run(names, sel.n, &o, json ? NULL : stdout, all);
    if (rc == HX_OK && json) {
        char *txt = json_dumps(all, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        printf("%s\n", txt);
        free(txt);
    }
    json_decref(all);
    return rc == HX_OK ? 0 : hx_report(rc);
}
