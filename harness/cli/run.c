/* `harness run`: loads and validates an experiment manifest, builds its
 * plan, and prints it (--dry-run) or hands it to the runner (exp/runner.h). */
#include "core/args.h"   // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"   // defines: hx_cmd_run
#include "core/err.h"   // defines: hx_report, hx_errmsg
#include "exp/manifest.h" // defines: hx_manifest_load
#include "exp/plan.h"   // defines: hx_plan_build, hx_plan_print, HX_PLAN_DEFAULT_GFLOPS
#include "exp/runner.h" // defines: hx_run, hx_run_check
#include "core/dist.h"   // defines: hx_dist_size
#include "model/device.h" // defines: hx_device_resolve

#include <stdio.h>

int hx_cmd_run(int argc, char **argv)
{
    const char *manifest = NULL, *only = NULL;
    int dry_run = 0, resume = 0, fresh = 0, device = 0;
    static const char *const devices[] = {"manifest", "auto", "cpu", "cuda", NULL};
    double gflops = HX_PLAN_DEFAULT_GFLOPS;
    hx_arg args[] = {
        {"dry-run", HX_ARG_FLAG, &dry_run, "",
         "print the plan (teacher, importance, students, budgets, eval points, FLOPs and time) and exit", .set = 1},
        {"only", HX_ARG_STR, &only, "ARM", "only this arm (an exact name, or a base name for all its sweep points)"},
        {"resume", HX_ARG_FLAG, &resume, "",
         "continue the run in outputs.dir from its last complete checkpoints (or add arms to it)", .set = 1},
        {"fresh", HX_ARG_FLAG, &fresh, "",
         "delete the results already in outputs.dir, then run from the start (without --resume or --fresh, a "
         "folder that holds results is refused)",
         .set = 1},
        {"device", HX_ARG_ENUM, &device, NULL,
         "where training runs: the manifest's device:, auto (a GPU when this build has the CUDA tier and one is "
         "present), cpu or cuda",
         .names = devices},
        {"gflops", HX_ARG_DOUBLE, &gflops, "X", "throughput for the plan's time estimates, GFLOP/s", 1e-6, 1e30},
        {"MANIFEST", HX_ARG_POS, &manifest, NULL, "experiment manifest (YAML, see experiments/README.md)",
         .required = 1},
        {NULL},
    };
    hx_cli cli = {"run", "Runs every arm of an experiment manifest.", args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    if (resume && fresh) return hx_cli_fail(&cli, "--resume and --fresh exclude each other");
    hx_cli_settings(&cli, stderr);
    hx_manifest m;
    int rc = hx_manifest_load(manifest, &m);
    if (rc < 0) return hx_report(rc);
    if (device > 0) m.device = (hx_device)(device - 1);
    hx_device resolved;
    rc = hx_device_resolve(m.device, &resolved); /* before the plan: the device is part of trained artifacts' keys */
    if (rc < 0 && !dry_run) {
        hx_manifest_free(&m);
        return hx_report(rc);
    }
    if (rc < 0) {
        printf("NOTE: %s\n", hx_errmsg());
        hx_clearerr();
    } else m.device = resolved;
    hx_plan plan;
    rc = hx_plan_build(&m, only, gflops, &plan);
    if (rc < 0) {
        hx_manifest_free(&m);
        return hx_report(rc);
    }
    if (dry_run) {
        hx_plan_print(stdout, &plan);
        if (!plan.unsupported && hx_run_check(&plan) < 0) {
            printf("NOTE: run would refuse this manifest: %s\n", hx_errmsg());
            hx_clearerr();
        }
        code = 0;
    } else if (plan.unsupported) {
        fprintf(stderr, "harness run: refusing %s: %s\n", manifest, plan.unsupported);
        code = 2;
    } else {
        hx_run_opts ro = {resume, fresh, hx_dist_rank() != 0, NULL};
        char priv[600];
        if (hx_dist_rank() != 0) { /* data parallel: this rank's own outputs, rank 0's checkpoints */
            snprintf(priv, sizeof priv, "%s/.rank%d", m.outputs.dir, hx_dist_rank());
            ro.shared_dir = m.outputs.dir;
            m.outputs.dir = priv;
            if (!freopen("/dev/null", "w", stdout)) return hx_report(HX_ERR(HX_EIO, "cannot silence rank %d", hx_dist_rank()));
        }
        rc = hx_run(&plan, &ro);
        code = rc < 0 ? hx_report(rc) : 0;
    }
    hx_plan_free(&plan);
    hx_manifest_free(&m);
    return code;
}
