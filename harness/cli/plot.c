/* `harness plot`: an experiment's figures redrawn from its HDF5 file alone
 * (exp/report.h). */
#include "core/args.h"   // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"   // defines: hx_cmd_plot
#include "core/err.h"   // defines: hx_report
#include "core/home.h"  // defines: hx_home_path
#include "exp/report.h" // defines: hx_report_plots

#include <stdio.h>
#include <stdlib.h>

int hx_cmd_plot(int argc, char **argv)
{
    const char *dir = NULL, *baselines = NULL;
    hx_arg args[] = {
        {"baselines", HX_ARG_STR, &baselines, "DIR", "published baselines (default: the project's baselines/)"},
        {"RESULTS_DIR", HX_ARG_POS, &dir, NULL, "results/<experiment>/ of harness run", .required = 1},
        {NULL},
    };
    hx_cli cli = {"plot", "Redraws results/<experiment>/plots/ (PNG, SVG, PDF) from the HDF5 file alone.", args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    char *home_baselines = baselines ? NULL : hx_home_path("baselines");
    if (!baselines && !home_baselines) return hx_report(HX_EIO);
    if (!baselines) baselines = home_baselines;
    hx_cli_settings(&cli, stderr);
    int rc = hx_report_plots(dir, baselines);
    free(home_baselines);
    return rc < 0 ? hx_report(rc) : 0;
}
