/* `harness run MANIFEST [--dry-run] [--only ARM] [--resume] [--gflops X]`:
 * loads and validates a manifest, builds its plan, and either prints it
 * (--dry-run) or hands it to the runner. */
#include "exp/cmd_run.h"
#include "exp/runner.h"

#include "core/err.h"
#include "core/parse.h"
#include "exp/manifest.h"
#include "exp/plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *manifest;
    const char *only;
    int dry_run, resume, fresh;
    double gflops;
} run_opts;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: harness run MANIFEST [--dry-run] [--only ARM] [--resume | --fresh] [--gflops X]\n\n"
            "Runs every arm of an experiment manifest (see experiments/README.md).\n"
            "  --dry-run     print the plan (teacher, importance, students, per-arm budgets,\n"
            "                eval points, estimated FLOPs and time) and exit\n"
            "  --only ARM    only this arm (an exact name, or a base name for all its sweep points)\n"
            "  --resume      continue the run in outputs.dir from its last complete checkpoints (or add\n"
            "                arms to it); every reused artifact must come from the same inputs\n"
            "  --fresh       delete the results already in outputs.dir, then run from the start\n"
            "                (without --resume or --fresh, a folder that holds results is refused)\n"
            "  --gflops X    throughput for time estimates (default %g GFLOP/s)\n",
            HX_PLAN_DEFAULT_GFLOPS);
}

static int parse_args(int argc, char **argv, run_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--dry-run")) {
            o->dry_run = 1;
        } else if (!strcmp(a, "--resume")) {
            o->resume = 1;
        } else if (!strcmp(a, "--fresh")) {
            o->fresh = 1;
        } else if (!strcmp(a, "--only") || !strcmp(a, "--gflops")) {
            if (i + 1 >= argc) return HX_ERR(HX_EINVAL, "run: %s needs a value", a);
            if (a[2] == 'o') {
                o->only = argv[++i];
            } else {
                HX_TRY(hx_opt_double("gflops", argv[++i], 1e-6, INFINITY, &o->gflops));
            }
        } else if (a[0] == '-') {
            return HX_ERR(HX_EINVAL, "run: unknown option '%s'", a);
        } else if (!o->manifest) {
            o->manifest = a;
        } else {
            return HX_ERR(HX_EINVAL, "run: one manifest at a time ('%s' and '%s')", o->manifest, a);
        }
    }
    if (!o->manifest) return HX_ERR(HX_EINVAL, "run: no manifest given");
    if (o->resume && o->fresh) return HX_ERR(HX_EINVAL, "run: --resume and --fresh exclude each other");
    return HX_OK;
}

/* Executes the selected arms of a validated plan (exp/runner.h). */
static int execute(const hx_plan *plan, const run_opts *o)
{
    hx_run_opts ro = {o->resume, o->fresh, 0};
    int rc = hx_run(plan, &ro);
    return rc < 0 ? hx_report(rc) : 0;
}

int hx_cmd_run(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    run_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc < 0) {
        hx_report(rc);
        usage(stderr);
        return 2;
    }
    hx_manifest m;
    rc = hx_manifest_load(o.manifest, &m);
    if (rc < 0) return hx_report(rc);
    hx_plan plan;
    rc = hx_plan_build(&m, o.only, o.gflops, &plan);
    if (rc < 0) {
        hx_manifest_free(&m);
        return hx_report(rc);
    }
    int code;
    if (o.dry_run) {
        hx_plan_print(stdout, &plan);
        if (!plan.unsupported && hx_run_check(&plan) < 0) {
            printf("NOTE: run would refuse this manifest: %s\n", hx_errmsg());
            hx_clearerr();
        }
        code = 0;
    } else if (plan.unsupported) {
        fprintf(stderr, "harness run: refusing %s: %s\n", o.manifest, plan.unsupported);
        code = 2;
    } else {
        code = execute(&plan, &o);
    }
    hx_plan_free(&plan);
    hx_manifest_free(&m);
    return code;
}
