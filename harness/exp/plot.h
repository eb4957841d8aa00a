/* Plot export: writes the TSV inputs of the gnuplot scripts in plots/ from in-memory arrays and
 * runs gnuplot (a separate program, Debian package gnuplot-nox) once per output format, so that
 * the runner can draw every figure after reading its HDF5 log. File layouts are documented at the
 * top of each plots/<name>.gp script. Figures follow DESIGN.md "Plots": a published baseline
 * shares axes only with arms measured on the same task and protocol. */
#ifndef HX_EXP_PLOT_H
#define HX_EXP_PLOT_H

#include <stddef.h>

/* Output formats (bit mask): PNG (pngcairo; plain png when gnuplot lacks cairo), SVG, PDF (pdfcairo). */
enum { HX_PLOT_PNG = 1, HX_PLOT_SVG = 2, HX_PLOT_PDF = 4, HX_PLOT_ALL = 7 };

/* One curve: an arm's values at its eval points. tokens[i] = training tokens (or another x
 * quantity, e.g. FLOPs) of the arm at eval point i (ascending); value[i] = the metric there
 * (validation loss in nats/token, or accuracy in percent); lo[i], hi[i] = its band or error bar
 * (NULL: none, written as value). name: the arm name, non-empty, no whitespace. */
typedef struct {
    const char *name;
    size_t n;
    const double *tokens;
    const double *value;
    const double *lo, *hi;
} hx_plot_series;

/* Reference lines and notes of a figure (NAN / NULL: absent). */
typedef struct {
    double teacher; /* the teacher's final value, a horizontal line */
    double chance;  /* accuracy of a uniform guess in percent (accuracy panels) */
    const char *note; /* one line under the title, e.g. "too few items to separate the arms" */
} hx_plot_refs;

/* A gnuplot variable passed with -e: name='value'. If is_file, the value is a path that must
 * exist before gnuplot is run. */
typedef struct {
    const char *name;
    const char *value;
    int is_file;
} hx_plot_var;

/* Directory holding the *.gp scripts: $HX_PLOTS_DIR if set, else the
 * project's plots/ (core/home.h: found from the executable, whatever the
 * working directory). */
const char *hx_plot_scripts_dir(void);

/* Writes "arm<TAB>tokens<TAB><value_col><TAB>lo<TAB>hi" then one row per point, arms in the given
 * order (the input of val_loss_vs_tokens.gp and accuracy_vs_tokens.gp). Errors: HX_EINVAL (an arm name that
 * is empty or holds whitespace, a non-finite token count or value, naming the arm and index),
 * HX_EIO/HX_ENOSPC (write). The file is replaced atomically. */
int hx_plot_write_series_tsv(const char *path, const char *value_col, const hx_plot_series *arms, size_t n_arms);

/* Writes a plain matrix, `rows` lines of `cols` tab-separated values, from row-major m[rows*cols]
 * (importance_heads.gp: row = layer, column = attention head). Errors: HX_EINVAL (empty or
 * non-finite), HX_EIO/HX_ENOSPC. */
int hx_plot_write_matrix_tsv(const char *path, const float *m, size_t rows, size_t cols);

/* Writes "<index_col><TAB>names[0]<TAB>..." then n_rows rows "i<TAB>cols[0][i]<TAB>..."
 * (importance_layers.gp: index_col "layer", one column per score kind). Names: non-empty, no
 * tabs/newlines. Errors: HX_EINVAL, HX_EIO/HX_ENOSPC. */
int hx_plot_write_columns_tsv(const char *path, const char *index_col, const char *const *names,
                              const double *const *cols, size_t n_cols, size_t n_rows);

/* Writes "label<TAB>value[<TAB>error]" then one row per bar (ablation_bars.gp). errors may be
 * NULL (no error column). Labels: non-empty, no tabs/newlines. Errors: HX_EINVAL, HX_EIO/HX_ENOSPC. */
int hx_plot_write_bars_tsv(const char *path, const char *const *labels, const double *values,
                           const double *errors, size_t n);

/* Runs `gnuplot -e "<vars>; out='<out_stem>'; fmt='<fmt>'" <scripts_dir>/<script>.gp` for each
 * format in `formats`, producing <out_stem>.png/.svg/.pdf. The gnuplot program is $HX_GNUPLOT if
 * set, else "gnuplot" on PATH; it is started with posix_spawnp (no shell), and values are passed
 * as gnuplot single-quoted strings (a ' doubles). gnuplot's messages go to <out_stem>.gnuplot.log,
 * removed on success. Errors: HX_EINVAL (bad variable name, a value with a newline, no format),
 * HX_EIO (the script or an is_file input is missing, gnuplot is not installed -- the message names
 * the Debian package gnuplot-nox --, gnuplot failed -- the message quotes its first error line --, or
 * an output is missing or empty). */
int hx_plot_render(const char *script, const hx_plot_var *vars, size_t n_vars, const char *out_stem,
                   unsigned formats);

/* Figure 1: validation loss vs training tokens (or FLOPs), one curve per arm with its band across
 * seeds, and the teacher's loss as a line. `stem` names the files (<out_dir>/<stem>.tsv and
 * .<fmt>), `xlabel` the x axis (NULL: "training tokens"; a log axis when it has "FLOP").
 * Errors: those of hx_mkdir_p, hx_plot_write_series_tsv and hx_plot_render. */
int hx_plot_val_loss(const char *out_dir, const char *stem, const char *xlabel, const hx_plot_series *arms,
                     size_t n_arms, const hx_plot_refs *refs, unsigned formats);

/* Figure 2: accuracy vs training tokens (log x), "like beside like": a left panel with our arms on
 * the mini task `task` (skipped when n_arms == 0), and the paper's reference panel -- MMLU 5-shot
 * of the published models from `baselines_dir` (hx_baselines_reference) plus `ref_arms`, our
 * paper-scale arms measured on MMLU 5-shot (may be NULL/0). The left panel draws each arm's
 * interval (lo, hi: a binomial confidence interval) as error bars, and `refs` (may be NULL) the
 * task's chance level, the teacher's accuracy and a note. Writes <stem>_arms.tsv,
 * <stem>_ref_arms.tsv, accuracy_reference.tsv and renders <stem>.<fmt> in out_dir (stem NULL:
 * "accuracy_vs_tokens"). */
int hx_plot_accuracy(const char *out_dir, const char *stem, const char *task, const hx_plot_series *arms, size_t n_arms,
                     const hx_plot_series *ref_arms, size_t n_ref_arms, const char *baselines_dir,
                     const hx_plot_refs *refs, unsigned formats);

/* Figure 3a: layer x head importance heatmap from scores[n_layers * n_heads] (row-major, layer
 * major), e.g. the aggregated head scores of [M-NIPS] §2.2. Writes <stem>.tsv and renders
 * <stem>.<fmt> in out_dir; title may be NULL. */
int hx_plot_importance_heads(const char *out_dir, const char *stem, const char *title, const float *scores,
                             size_t n_layers, size_t n_heads, unsigned formats);

/* Figure 3b: per-layer importance, one curve per score kind (names[k], scores[k][n_layers]; e.g.
 * "BI", "val_loss_when_dropped"). Writes <stem>.tsv and renders <stem>.<fmt>; title may be NULL. */
int hx_plot_importance_layers(const char *out_dir, const char *stem, const char *title,
                              const char *const *names, const double *const *scores, size_t n_kinds,
                              size_t n_layers, unsigned formats);

/* Figure 4: ablation bar chart, one bar per setting (errors may be NULL). ylabel names the metric
 * and unit, e.g. "validation loss (nats/token)". Writes <stem>.tsv and renders <stem>.<fmt>. */
int hx_plot_ablation(const char *out_dir, const char *stem, const char *title, const char *ylabel,
                     const char *const *labels, const double *values, const double *errors, size_t n,
                     unsigned formats);

/* The paper's accuracy-vs-training-tokens figure ([M-NIPS] Fig. 1: MMLU 5-shot against training
 * tokens) redrawn from baselines_dir alone: writes <out_dir>/reference_mmlu_vs_tokens.tsv and
 * renders <out_dir>/reference_mmlu_vs_tokens.{png,svg,pdf}. Errors: those of
 * hx_baselines_reference, hx_mkdir_p and hx_plot_render. */
int hx_plot_reference_panel(const char *baselines_dir, const char *out_dir);

#endif
