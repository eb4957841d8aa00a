/* Figures of a finished (or partial) experiment, drawn from its HDF5 results
 * file alone: `harness plot results/<experiment>`. */
#ifndef HX_EXP_REPORT_H
#define HX_EXP_REPORT_H

/* Reads <results_dir>/<name>.h5 (the only *.h5 in the directory) and writes
 * into <results_dir>/plots/, each as PNG, SVG and PDF:
 *   val_loss_vs_tokens      validation loss against training tokens, one curve per student arm;
 *   accuracy_vs_tokens      the first task's acc_norm against tokens (log x) beside the paper's
 *                           MMLU-vs-training-tokens reference panel from baselines_dir;
 *   importance_heads        layer x head importance heatmap (group importance/);
 *   importance_layers       per-layer scores (Block Importance, loss with the layer removed);
 *   final_val_loss          bar chart of every arm's final validation loss.
 * Prints the paths written. Errors: HX_EIO (no results file, gnuplot
 * missing), those of exp/plot.h. */
int hx_report_plots(const char *results_dir, const char *baselines_dir);

#endif
