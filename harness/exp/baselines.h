/* Published baselines (the CSV files under baselines/): a small RFC 4180 CSV reader, the checks every baselines
 * file must pass (a non-empty `source` on every row, numeric columns that parse), and the join of
 * scores.csv with models.csv into the (training tokens, accuracy) points of the paper's
 * accuracy-vs-training-tokens figure ([M-NIPS] Fig. 1). The files and their columns are described
 * in baselines/README.md. */
#ifndef HX_EXP_BASELINES_H
#define HX_EXP_BASELINES_H

#include <stddef.h>

/* A CSV file held in memory: a header row naming the columns, then n_rows rows of n_cols cells. */
typedef struct {
    char *path;     /* the file it was read from (for messages) */
    size_t n_cols;  /* columns, from the header row */
    size_t n_rows;  /* data rows (the header excluded) */
    char **header;  /* n_cols column names */
    char **cells;   /* n_rows * n_cols cells, row-major; "" for an empty field */
    size_t *lines;  /* n_rows: the 1-based file line each row starts on */
} hx_csv;

/* Reads a CSV file: comma-separated, fields optionally double-quoted ("" inside quotes is one
 * quote; quoted fields may hold commas and newlines), LF or CRLF line ends, first row = header.
 * Blank lines are skipped. Errors: HX_EIO (cannot read), HX_EFORMAT (an unterminated quote, or a
 * row whose field count differs from the header's; the message names path:line), HX_ENOMEM. */
int hx_csv_read(const char *path, hx_csv *t);

/* Frees what hx_csv_read allocated and zeroes *t. Safe on a zeroed struct. */
void hx_csv_free(hx_csv *t);

/* Index of the column named `name`, or -1. */
int hx_csv_col(const hx_csv *t, const char *name);

/* The cell at (row, col) (0-based; col from hx_csv_col). */
const char *hx_csv_cell(const hx_csv *t, size_t row, int col);

/* Parses a whole cell as a finite double ("9.4e10", "63.8"). Returns 1 on success, 0 if the cell
 * is empty or not a number. */
int hx_csv_number(const char *cell, double *out);

/* Checks every CSV named in the baselines set (models.csv, scores.csv, pruning_methods.csv,
 * ablations.csv) under `dir`: each must exist and have a `source` column that is non-empty on
 * every row, and the numeric columns (params, nonemb_params, train_tokens, shots, value, tokens)
 * must be empty or parse as finite numbers. Errors: HX_EIO (missing file), HX_EFORMAT (naming
 * file:line and the column at fault). */
int hx_baselines_check(const char *dir);

/* One published model in the accuracy-vs-training-tokens figure. */
typedef struct {
    char model[64];  /* model id as in models.csv, e.g. "Minitron-8B" (no whitespace) */
    char group[16];  /* models.csv role: "minitron", "teacher" or "published" */
    double tokens;   /* training tokens (models.csv train_tokens) */
    double accuracy; /* benchmark score in percent (scores.csv value) */
} hx_ref_point;

/* Joins scores.csv rows with the given benchmark (e.g. "mmlu") and shot count to models.csv,
 * keeping the first score row per model (file order: [M-NIPS] T2, T3, then [P] T1) and dropping
 * models whose training tokens are undisclosed (empty train_tokens). The points are sorted by group
 * (minitron, teacher, published), then by tokens, then by name. `*out` is malloc'd (caller frees).
 * Errors: those of hx_csv_read; HX_EFORMAT if a scored model is missing from models.csv or a
 * needed column is missing; HX_EINVAL if no row matches. */
int hx_baselines_reference(const char *dir, const char *benchmark, int shots, hx_ref_point **out,
                           size_t *n);

#endif
