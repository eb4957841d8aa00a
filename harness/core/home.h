/* The project's own resources (the CSV files of baselines/, the gnuplot scripts of plots/),
 * found whatever the working directory: HX_HOME if set, else the folder above the running
 * executable (bin/harness lives in <home>/bin), else the working directory. */
#ifndef HX_CORE_HOME_H
#define HX_CORE_HOME_H

/* The project root (no trailing slash), resolved once per process in the
 * order above; the first candidate holding both baselines/models.csv and
 * plots/common.gp wins. NULL when none does (hx_home_check says why). */
const char *hx_home(void);

/* `rel` under the project root as a malloc'd path (caller frees); NULL with
 * HX_EIO recorded when the root was not found, HX_ENOMEM on allocation. */
char *hx_home_path(const char *rel);

/* HX_OK when the project root was found; else HX_EIO naming every place
 * looked at and how to fix it (set HX_HOME). Commands that need the
 * resources call it before any work starts. */
int hx_home_check(void);

#endif
