/* Locating the project root from HX_HOME, the executable, or the working directory. */
#include "core/home.h"

#include "core/err.h"
#include "core/util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_home[PATH_MAX];
static char g_tried[3 * PATH_MAX + 64];
static int g_done;

static int holds_resources(const char *dir)
{
    char a[PATH_MAX + 32], b[PATH_MAX + 32];
    snprintf(a, sizeof a, "%s/baselines/models.csv", dir);
    snprintf(b, sizeof b, "%s/plots/common.gp", dir);
    return access(a, R_OK) == 0 && access(b, R_OK) == 0;
}

static void try_dir(const char *dir, const char *why)
{
    if (*g_home || !dir || !*dir) return;
    char real[PATH_MAX];
    const char *d = realpath(dir, real) ? real : dir;
    size_t n = strlen(g_tried);
    snprintf(g_tried + n, sizeof g_tried - n, "%s%s (%s)", n ? ", " : "", d, why);
    if (holds_resources(d)) snprintf(g_home, sizeof g_home, "%s", d);
}

const char *hx_home(void)
{
    if (!g_done) {
        g_done = 1;
        try_dir(getenv("HX_HOME"), "HX_HOME");
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = 0;
            char *slash = strrchr(exe, '/');
            if (slash) {
                *slash = 0;
                char up[PATH_MAX + 4];
                snprintf(up, sizeof up, "%s/..", exe);
                try_dir(up, "above the executable");
            }
        }
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd)) try_dir(cwd, "working directory");
    }
    return *g_home ? g_home : NULL;
}

int hx_home_check(void)
{
    if (hx_home()) return HX_OK;
    return HX_ERR(HX_EIO,
                  "the harness's own resources (baselines/models.csv, plots/common.gp) were not found; looked in %s. "
                  "Set HX_HOME to the harness checkout",
                  g_tried);
}

char *hx_home_path(const char *rel)
{
    if (hx_home_check() < 0) return NULL;
    return hx_path_join(g_home, rel);
}
