/* The HDF5 run log: one file per experiment holding provenance attributes,
 * per-arm `train` and `eval` tables (one extendible 1-D dataset per column,
 * rows appended and flushed one at a time so a killed run leaves a readable
 * file), and arrays written by later stages. Schema: results/README.md. */
#ifndef HX_LOG_H5LOG_H
#define HX_LOG_H5LOG_H

#include <stdint.h>

typedef struct hx_h5log hx_h5log;

typedef enum {
    HX_H5LOG_CREATE = 0, /* new file; HX_EIO if it already exists */
    HX_H5LOG_APPEND = 1, /* existing file (created when missing), for resuming */
} hx_h5log_mode;

/* Element types of hx_h5log_write_array. */
typedef enum { HX_H5_F32 = 0, HX_H5_I64 = 1, HX_H5_F64 = 2 } hx_h5_type;

/* Schema version stored in the root attribute `schema_version`. */
#define HX_H5LOG_SCHEMA_VERSION 1

/* Opens the log at `path`. Files use the earliest HDF5 file format (no
 * "file open for write" superblock flag), so a killed run needs no h5clear.
 * A table's row count is the minimum over its columns: a row half-written by
 * a killed process is invisible to hx_h5log_rows/read_column and is cut off
 * by the next append or truncate of that table. Errors: HX_EIO naming the
 * file (missing directory, no permission, not HDF5, already exists in CREATE
 * mode, or locked by a running writer). */
int hx_h5log_open(const char *path, hx_h5log_mode mode, hx_h5log **out);

/* Flushes and closes; NULL is a no-op. Returns HX_EIO if the final flush fails. */
int hx_h5log_close(hx_h5log *log);

/* Writes the provenance attributes on "/": schema_version, manifest (text),
 * manifest_sha256, git_commit (`git rev-parse HEAD` in the working directory,
 * else "unknown"), harness_version (HX_VERSION), hdf5_version,
 * openblas_config (openblas_get_config()), blas_core (the kernel in use),
 * cpu (brand string), cpu_features (core/cpu.h), compiler (__VERSION__), host,
 * threads, and start_time (ISO 8601 UTC). When start_time already exists
 * (a resumed run) it is kept and resume_time is set instead, and a differing
 * manifest_sha256 is refused with HX_EINVAL. */
int hx_h5log_set_provenance(hx_h5log *log, const char *manifest_text);

/* Sets end_time (ISO 8601 UTC) on "/"; a file without it was not finished. */
int hx_h5log_finish(hx_h5log *log);

/* Appends one row to `table` (a group path such as "arms/teacher/train",
 * created with its parents on first use): `values[i]` goes to column
 * `names[i]`. A column seen for the first time is created and back-filled
 * with its fill value for the earlier rows; existing columns missing from
 * this row get the fill value. Columns "step", "tokens" and "skipped_steps"
 * are int64 (fill -1; values must be integral), all others float64 (fill NaN).
 * The file is flushed (H5Fflush, global scope) before returning.
 * Errors: HX_EINVAL (n < 1, duplicate or empty name, non-integral int64
 * value), HX_ENAN (a NaN or infinite value: never logged; the message names
 * the table and column), HX_EIO. */
int hx_h5log_append(hx_h5log *log, const char *table, const char *const *names, const double *values, int n);

/* Number of complete rows of `table` (0 when it does not exist). */
int hx_h5log_rows(hx_h5log *log, const char *table, int64_t *rows);

/* Cuts every column of `table` to its first `keep_rows` rows (no-op when it
 * has fewer). Flushed. Errors: HX_EINVAL (keep_rows < 0), HX_EIO. */
int hx_h5log_truncate(hx_h5log *log, const char *table, int64_t keep_rows);

/* For resuming from a checkpoint taken after `max_tokens` trained tokens (or
 * restarting a run that starts there): keeps the rows before the first one
 * logged after that point and drops the rest. A row is after it when its
 * `tokens` exceeds max_tokens, or equals it with `step` 0: the starting-point
 * evaluation of a run starting at max_tokens (a fresh run, or the next round
 * of an iterative arm, whose previous round's rows at max_tokens have steps
 * > 0), which the restarted run logs again. Errors: HX_EINVAL when the table
 * has rows but no tokens column, HX_EIO. */
int hx_h5log_truncate_tokens(hx_h5log *log, const char *table, int64_t max_tokens);

/* Reads column `name` of `table` as doubles into a malloc'd array of the
 * table's row count. Errors: HX_EINVAL when the column does not exist. */
int hx_h5log_read_column(hx_h5log *log, const char *table, const char *name, double **out, int64_t *n);

/* The last value of column `name` of `table`, or NAN when the table or the
 * column does not exist or has no rows (no error is left set). */
double hx_h5log_last(hx_h5log *log, const char *table, const char *name);

/* Attribute writers on object `obj` ("/" or a group/dataset path; groups are
 * created when missing). An existing attribute of that name is replaced.
 * Strings are variable-length UTF-8. Errors: HX_EIO. */
int hx_h5log_attr_str(hx_h5log *log, const char *obj, const char *name, const char *value);
int hx_h5log_attr_double(hx_h5log *log, const char *obj, const char *name, double value);
int hx_h5log_attr_int(hx_h5log *log, const char *obj, const char *name, int64_t value);

/* Reads a string attribute into a malloc'd copy. Errors: HX_EINVAL if absent. */
int hx_h5log_get_attr_str(hx_h5log *log, const char *obj, const char *name, char **out);

/* Writes an N-d array (row-major, C order) of float32, float64 or int64 as dataset
 * `path` (parents created), replacing one that exists. 1 <= ndim <= 8,
 * dims[i] >= 0. Flushed. Errors: HX_EINVAL, HX_EIO. */
int hx_h5log_write_array(hx_h5log *log, const char *path, hx_h5_type type, int ndim, const int64_t *dims,
                         const void *data);

/* Names of the members (groups, datasets) of `group`, in name order, as a
 * malloc'd array of malloc'd strings (free with hx_h5log_free_list); a
 * missing group gives n = 0. Errors: HX_EIO, HX_ENOMEM. */
int hx_h5log_list(hx_h5log *log, const char *group, char ***names, int *n);
void hx_h5log_free_list(char **names, int n);

/* Reads dataset `path` into a malloc'd row-major array converted to `type`
 * (double for HX_H5_F64, int64_t for HX_H5_I64, float for HX_H5_F32), with
 * its rank in *ndim and its dimensions in dims[0..*ndim) (room for 8).
 * Errors: HX_EINVAL (no such dataset, rank above 8), HX_EIO, HX_ENOMEM. */
int hx_h5log_read_array(hx_h5log *log, const char *path, hx_h5_type type, void **out, int *ndim, int64_t dims[8]);

/* Reads a numeric scalar attribute as a double. Errors: HX_EINVAL if absent
 * or not numeric, HX_EIO. */
int hx_h5log_get_attr_double(hx_h5log *log, const char *obj, const char *name, double *out);

/* ISO 8601 UTC time of now, "YYYY-MM-DDTHH:MM:SSZ". */
void hx_iso8601_now(char out[32]);

#endif
