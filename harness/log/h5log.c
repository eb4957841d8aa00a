/* HDF5 run log: provenance attributes, append-only column tables, arrays. */
#include "log/h5log.h"

#include "core/cpu.h"
#include "core/err.h"
#include "core/home.h"
#include "core/util.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_ROWS 1024
#define MAX_COLS 256

struct hx_h5log {
    hid_t file;
    char *path;
};

static const char *const int_columns[] = {"step", "tokens", "skipped_steps"};

/* Units written as the `units` attribute of well-known columns. */
static const struct {
    const char *name, *units;
} column_units[] = {
    {"step", "optimizer updates"},   {"tokens", "tokens"},         {"skipped_steps", "optimizer updates"},
    {"loss", "nats per token"},      {"loss_ce", "nats per token"}, {"loss_kd", "nats per token"},
    {"val_loss", "nats per token"},  {"perplexity", "1"},           {"lr", "1"},
    {"grad_norm", "1"},              {"tokens_per_s", "tokens/s"},  {"wall_s", "s"},
};

static int is_int_column(const char *name)
{
    for (size_t i = 0; i < sizeof int_columns / sizeof *int_columns; i++)
        if (!strcmp(name, int_columns[i])) return 1;
    return 0;
}

void hx_iso8601_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int flush(hx_h5log *log)
{
    if (H5Fflush(log->file, H5F_SCOPE_GLOBAL) < 0) return HX_ERR(HX_EIO, "%s: H5Fflush failed", log->path);
    return HX_OK;
}

int hx_h5log_open(const char *path, hx_h5log_mode mode, hx_h5log **out)
{
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported through hx_errmsg */
    hx_h5log *log = hx_calloc(1, sizeof *log);
    if (!log) return HX_ENOMEM;
    log->path = strdup(path);
    int exists = access(path, F_OK) == 0;
    if (mode == HX_H5LOG_CREATE && exists) {
        free(log->path);
        free(log);
        return HX_ERR(HX_EIO, "%s: run log already exists (open it in append mode to resume)", path);
    }
    if (exists) {
        if (H5Fis_hdf5(path) <= 0) {
            free(log->path);
            free(log);
            return HX_ERR(HX_EIO, "%s: not an HDF5 file", path);
        }
        log->file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    } else {
        log->file = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    }
    if (log->file < 0) {
        free(log->path);
        free(log);
        return HX_ERR(HX_EIO, "%s: cannot %s HDF5 file (missing directory, no permission, or locked by a "
                              "running process?)",
                      path, exists ? "open" : "create");
    }
    *out = log;
    return HX_OK;
}

int hx_h5log_close(hx_h5log *log)
{
    if (!log) return HX_OK;
    int rc = flush(log);
    if (H5Fclose(log->file) < 0 && rc == HX_OK) rc = HX_ERR(HX_EIO, "%s: H5Fclose failed", log->path);
    free(log->path);
    free(log);
    return rc;
}

static int link_exists(hid_t loc, const char *path)
{
    /* Walks the path so that missing intermediate groups answer "no" instead of an error. */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = buf + (buf[0] == '/'); *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (H5Lexists(loc, buf, H5P_DEFAULT) <= 0) return 0;
        *s = '/';
    }
    return H5Lexists(loc, buf, H5P_DEFAULT) > 0;
}

/* Opens group `path`, creating it and its parents when `create`. */
static hid_t open_group(hx_h5log *log, const char *path, int create)
{
    if (!strcmp(path, "/") || !*path) return H5Gopen2(log->file, "/", H5P_DEFAULT);
    if (link_exists(log->file, path)) return H5Gopen2(log->file, path, H5P_DEFAULT);
    if (!create) return -1;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t g = H5Gcreate2(log->file, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    return g;
}

/* ---- tables ---- */

typedef struct {
    char *names[MAX_COLS];
    int n;
} col_list;

static herr_t collect_cb(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    (void)g;
    (void)info;
    col_list *cl = op;
    if (cl->n >= MAX_COLS) return 1;
    cl->names[cl->n++] = strdup(name);
    return 0;
}

static void free_cols(col_list *cl)
{
    for (int i = 0; i < cl->n; i++) free(cl->names[i]);
    cl->n = 0;
}

static int64_t dataset_len(hid_t ds)
{
    hid_t sp = H5Dget_space(ds);
    hsize_t d = 0;
    int nd = H5Sget_simple_extent_dims(sp, &d, NULL);
    H5Sclose(sp);
    return nd == 1 ? (int64_t)d : -1;
}

/* Row count of the table group `g` (min over its columns) and its column names. */
static int table_scan(hx_h5log *log, hid_t g, const char *table, col_list *cl, int64_t *rows)
{
    cl->n = 0;
    hsize_t idx = 0;
    if (H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_cb, cl) < 0 || cl->n >= MAX_COLS) {
        free_cols(cl);
        return HX_ERR(HX_EIO, "%s: cannot list the columns of %s (at most %d)", log->path, table, MAX_COLS - 1);
    }
    int64_t r = -1;
    for (int i = 0; i < cl->n; i++) {
        hid_t ds = H5Dopen2(g, cl->names[i], H5P_DEFAULT);
        int64_t len = ds < 0 ? -1 : dataset_len(ds);
        if (ds >= 0) H5Dclose(ds);
        if (len < 0) {
            int rc = HX_ERR(HX_EFORMAT, "%s: %s/%s is not a 1-D column", log->path, table, cl->names[i]);
            free_cols(cl);
            return rc;
        }
        if (r < 0 || len < r) r = len;
    }
    *rows = r < 0 ? 0 : r;
    return HX_OK;
}

static int set_all_extents(hx_h5log *log, hid_t g, const char *table, const col_list *cl, int64_t rows)
{
    hsize_t d = (hsize_t)rows;
    for (int i = 0; i < cl->n; i++) {
        hid_t ds = H5Dopen2(g, cl->names[i], H5P_DEFAULT);
        herr_t e = ds < 0 ? -1 : H5Dset_extent(ds, &d);
        if (ds >= 0) H5Dclose(ds);
        if (e < 0) return HX_ERR(HX_EIO, "%s: cannot resize %s/%s to %lld rows", log->path, table, cl->names[i],
                                 (long long)rows);
    }
    return HX_OK;
}

static hid_t create_column(hid_t g, const char *name, int64_t rows)
{
    int is_int = is_int_column(name);
    hsize_t d = (hsize_t)rows, maxd = H5S_UNLIMITED, chunk = CHUNK_ROWS;
    hid_t sp = H5Screate_simple(1, &d, &maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    int64_t ifill = -1;
    double dfill = NAN;
    H5Pset_fill_value(dcpl, is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, is_int ? (void *)&ifill : (void *)&dfill);
    hid_t ds = H5Dcreate2(g, name, is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    for (size_t i = 0; ds >= 0 && i < sizeof column_units / sizeof *column_units; i++) {
        if (strcmp(column_units[i].name, name)) continue;
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
        hid_t as = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(ds, "units", t, as, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, t, &column_units[i].units);
        H5Aclose(a);
        H5Sclose(as);
        H5Tclose(t);
    }
    return ds;
}

static int write_cell(hid_t ds, int64_t row, double value)
{
    hsize_t start = (hsize_t)row, one = 1;
    hid_t fs = H5Dget_space(ds);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &one, NULL);
    hid_t ms = H5Screate_simple(1, &one, NULL);
    hid_t t = H5Dget_type(ds);
    int is_int = H5Tget_class(t) == H5T_INTEGER;
    H5Tclose(t);
    herr_t e;
    if (is_int) {
        int64_t iv = (int64_t)value;
        e = H5Dwrite(ds, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, &iv);
    } else {
        e = H5Dwrite(ds, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, &value);
    }
    H5Sclose(ms);
    H5Sclose(fs);
    return e < 0 ? -1 : 0;
}

static int find_name(const col_list *cl, const char *name)
{
    for (int i = 0; i < cl->n; i++)
        if (!strcmp(cl->names[i], name)) return i;
    return -1;
}

int hx_h5log_append(hx_h5log *log, const char *table, const char *const *names, const double *values, int n)
{
    if (n < 1) return HX_ERR(HX_EINVAL, "%s: append to %s: no columns given", log->path, table);
    for (int i = 0; i < n; i++) {
        if (!names[i] || !*names[i] || strchr(names[i], '/'))
            return HX_ERR(HX_EINVAL, "%s: append to %s: invalid column name '%s'", log->path, table,
                          names[i] ? names[i] : "(null)");
        for (int j = 0; j < i; j++)
            if (!strcmp(names[i], names[j]))
                return HX_ERR(HX_EINVAL, "%s: append to %s: column '%s' given twice", log->path, table, names[i]);
        /* NaN never enters a results table, whoever appends */
        HX_TRY(hx_check_finite_d(&values[i], 1, "%s: append to %s: column '%s'", log->path, table, names[i]));
        if (is_int_column(names[i]) && !(values[i] == floor(values[i]) && fabs(values[i]) < 9.007199254740992e15))
            return HX_ERR(HX_EINVAL, "%s: append to %s: column '%s' is int64 but got %g", log->path, table,
                          names[i], values[i]);
    }
    hid_t g = open_group(log, table, 1);
    if (g < 0) return HX_ERR(HX_EIO, "%s: cannot create table group %s", log->path, table);
    col_list cl;
    int64_t rows;
    int rc = table_scan(log, g, table, &cl, &rows);
    if (rc < 0) {
        H5Gclose(g);
        return rc;
    }
    for (int i = 0; i < n && rc == HX_OK; i++) {
        if (find_name(&cl, names[i]) >= 0) continue;
        hid_t ds = create_column(g, names[i], rows);
        if (ds < 0) rc = HX_ERR(HX_EIO, "%s: cannot create column %s/%s", log->path, table, names[i]);
        else H5Dclose(ds);
        if (cl.n < MAX_COLS) cl.names[cl.n++] = strdup(names[i]);
    }
    if (rc == HX_OK) rc = set_all_extents(log, g, table, &cl, rows + 1);
    for (int i = 0; i < n && rc == HX_OK; i++) {
        hid_t ds = H5Dopen2(g, names[i], H5P_DEFAULT);
        if (ds < 0 || write_cell(ds, rows, values[i]) < 0)
            rc = HX_ERR(HX_EIO, "%s: cannot write row %lld of %s/%s", log->path, (long long)rows, table, names[i]);
        if (ds >= 0) H5Dclose(ds);
    }
    free_cols(&cl);
    H5Gclose(g);
    if (rc == HX_OK) rc = flush(log);
    return rc;
}

int hx_h5log_rows(hx_h5log *log, const char *table, int64_t *rows)
{
    *rows = 0;
    hid_t g = open_group(log, table, 0);
    if (g < 0) return HX_OK;
    col_list cl;
    int rc = table_scan(log, g, table, &cl, rows);
    free_cols(&cl);
    H5Gclose(g);
    return rc;
}

int hx_h5log_truncate(hx_h5log *log, const char *table, int64_t keep_rows)
{
    if (keep_rows < 0) return HX_ERR(HX_EINVAL, "%s: truncate %s: negative row count", log->path, table);
    hid_t g = open_group(log, table, 0);
    if (g < 0) return HX_OK;
    col_list cl;
    int64_t rows;
    int rc = table_scan(log, g, table, &cl, &rows);
    if (rc == HX_OK) rc = set_all_extents(log, g, table, &cl, keep_rows < rows ? keep_rows : rows);
    free_cols(&cl);
    H5Gclose(g);
    if (rc == HX_OK) rc = flush(log);
    return rc;
}

int hx_h5log_read_column(hx_h5log *log, const char *table, const char *name, double **out, int64_t *n)
{
    *out = NULL;
    *n = 0;
    int64_t rows;
    HX_TRY(hx_h5log_rows(log, table, &rows));
    char path[512];
    snprintf(path, sizeof path, "%s/%s", table, name);
    if (!link_exists(log->file, path)) return HX_ERR(HX_EINVAL, "%s: no column %s", log->path, path);
    hid_t ds = H5Dopen2(log->file, path, H5P_DEFAULT);
    double *buf = hx_malloc((size_t)(rows ? rows : 1) * sizeof(double));
    int rc = HX_OK;
    if (ds < 0 || !buf) rc = buf ? HX_ERR(HX_EIO, "%s: cannot open %s", log->path, path) : HX_ENOMEM;
    if (rc == HX_OK && rows > 0) {
        hsize_t start = 0, cnt = (hsize_t)rows;
        hid_t fs = H5Dget_space(ds);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &cnt, NULL);
        hid_t ms = H5Screate_simple(1, &cnt, NULL);
        if (H5Dread(ds, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, buf) < 0)
            rc = HX_ERR(HX_EIO, "%s: cannot read %s", log->path, path);
        H5Sclose(ms);
        H5Sclose(fs);
    }
    if (ds >= 0) H5Dclose(ds);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *n = rows;
    return HX_OK;
}

int hx_h5log_truncate_tokens(hx_h5log *log, const char *table, int64_t max_tokens)
{
    int64_t rows;
    HX_TRY(hx_h5log_rows(log, table, &rows));
    if (rows == 0) return HX_OK;
    double *tok, *step = NULL;
    int64_t n, ns = 0;
    int rc = hx_h5log_read_column(log, table, "tokens", &tok, &n);
    if (rc < 0) return hx_adderr(HX_EINVAL, "truncating %s by tokens", table);
    if (hx_h5log_read_column(log, table, "step", &step, &ns) < 0) hx_clearerr(); /* a table without steps */
    int64_t keep = 0;
    while (keep < n && (tok[keep] < (double)max_tokens ||
                        (tok[keep] == (double)max_tokens && !(keep < ns && step[keep] == 0))))
        keep++;
    free(tok);
    free(step);
    return hx_h5log_truncate(log, table, keep);
}

/* ---- attributes and arrays ---- */

static hid_t open_object(hx_h5log *log, const char *obj)
{
    if (!strcmp(obj, "/") || !*obj) return H5Oopen(log->file, "/", H5P_DEFAULT);
    if (link_exists(log->file, obj)) return H5Oopen(log->file, obj, H5P_DEFAULT);
    return open_group(log, obj, 1);
}

static int write_attr(hx_h5log *log, const char *obj, const char *name, hid_t type, const void *value)
{
    hid_t o = open_object(log, obj);
    if (o < 0) return HX_ERR(HX_EIO, "%s: cannot open or create %s", log->path, obj);
    if (H5Aexists(o, name) > 0) H5Adelete(o, name);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a < 0 ? -1 : H5Awrite(a, type, value);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Oclose(o);
    if (e < 0) return HX_ERR(HX_EIO, "%s: cannot write attribute %s on %s", log->path, name, obj);
    return HX_OK;
}

static hid_t vlen_str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

int hx_h5log_attr_str(hx_h5log *log, const char *obj, const char *name, const char *value)
{
    hid_t t = vlen_str_type();
    int rc = write_attr(log, obj, name, t, &value);
    H5Tclose(t);
    return rc;
}

int hx_h5log_attr_double(hx_h5log *log, const char *obj, const char *name, double value)
{
    return write_attr(log, obj, name, H5T_NATIVE_DOUBLE, &value);
}

int hx_h5log_attr_int(hx_h5log *log, const char *obj, const char *name, int64_t value)
{
    return write_attr(log, obj, name, H5T_NATIVE_INT64, &value);
}

int hx_h5log_get_attr_str(hx_h5log *log, const char *obj, const char *name, char **out)
{
    *out = NULL;
    if (strcmp(obj, "/") && !link_exists(log->file, obj)) return HX_ERR(HX_EINVAL, "%s: no object %s", log->path, obj);
    hid_t o = H5Oopen(log->file, obj, H5P_DEFAULT);
    if (o < 0) return HX_ERR(HX_EIO, "%s: cannot open %s", log->path, obj);
    if (H5Aexists(o, name) <= 0) {
        H5Oclose(o);
        return HX_ERR(HX_EINVAL, "%s: %s has no attribute %s", log->path, obj, name);
    }
    hid_t a = H5Aopen(o, name, H5P_DEFAULT);
    hid_t ft = H5Aget_type(a);
    int rc = HX_OK;
    if (H5Tget_class(ft) != H5T_STRING) {
        rc = HX_ERR(HX_EFORMAT, "%s: attribute %s of %s is not a string", log->path, name, obj);
    } else if (H5Tis_variable_str(ft) > 0) {
        hid_t t = vlen_str_type();
        char *s = NULL;
        if (H5Aread(a, t, &s) < 0 || !s) rc = HX_ERR(HX_EIO, "%s: cannot read attribute %s", log->path, name);
        else {
            *out = strdup(s);
            H5free_memory(s);
        }
        H5Tclose(t);
    } else {
        size_t len = H5Tget_size(ft);
        char *s = hx_calloc(len + 1, 1);
        if (!s) rc = HX_ENOMEM;
        else if (H5Aread(a, ft, s) < 0) {
            free(s);
            rc = HX_ERR(HX_EIO, "%s: cannot read attribute %s", log->path, name);
        } else *out = s;
    }
    H5Tclose(ft);
    H5Aclose(a);
    H5Oclose(o);
    return rc;
}

static hid_t array_mem_type(hx_h5_type type)
{
    return type == HX_H5_F32 ? H5T_NATIVE_FLOAT : type == HX_H5_F64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64;
}

int hx_h5log_read_array(hx_h5log *log, const char *path, hx_h5_type type, void **out, int *ndim, int64_t dims[8])
{
    *out = NULL;
    *ndim = 0;
    if (!link_exists(log->file, path)) return HX_ERR(HX_EINVAL, "%s: no dataset %s", log->path, path);
    hid_t ds = H5Dopen2(log->file, path, H5P_DEFAULT);
    if (ds < 0) return HX_ERR(HX_EIO, "%s: cannot open dataset %s", log->path, path);
    hid_t sp = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_ndims(sp), rc = HX_OK;
    hsize_t d[8];
    size_t n = 1;
    if (rank < 0 || rank > 8) rc = HX_ERR(HX_EINVAL, "%s: %s has rank %d (at most 8 supported)", log->path, path, rank);
    else {
        H5Sget_simple_extent_dims(sp, d, NULL);
        for (int i = 0; i < rank; i++) n *= (size_t)d[i];
    }
    size_t elem = type == HX_H5_F32 ? sizeof(float) : 8;
    void *buf = rc == HX_OK ? hx_malloc((n ? n : 1) * elem) : NULL;
    if (rc == HX_OK && !buf) rc = HX_ENOMEM;
    if (rc == HX_OK && n && H5Dread(ds, array_mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = HX_ERR(HX_EIO, "%s: cannot read dataset %s", log->path, path);
    H5Sclose(sp);
    H5Dclose(ds);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    for (int i = 0; i < rank; i++) dims[i] = (int64_t)d[i];
    *ndim = rank;
    *out = buf;
    return HX_OK;
}

int hx_h5log_get_attr_double(hx_h5log *log, const char *obj, const char *name, double *out)
{
    if (strcmp(obj, "/") && !link_exists(log->file, obj)) return HX_ERR(HX_EINVAL, "%s: no object %s", log->path, obj);
    hid_t o = H5Oopen(log->file, obj, H5P_DEFAULT);
    if (o < 0) return HX_ERR(HX_EIO, "%s: cannot open %s", log->path, obj);
    int rc = HX_OK;
    if (H5Aexists(o, name) <= 0) rc = HX_ERR(HX_EINVAL, "%s: %s has no attribute %s", log->path, obj, name);
    else {
        hid_t a = H5Aopen(o, name, H5P_DEFAULT);
        hid_t ft = H5Aget_type(a);
        H5T_class_t cls = H5Tget_class(ft);
        if (cls != H5T_INTEGER && cls != H5T_FLOAT)
            rc = HX_ERR(HX_EINVAL, "%s: attribute %s of %s is not numeric", log->path, name, obj);
        else if (H5Aread(a, H5T_NATIVE_DOUBLE, out) < 0)
            rc = HX_ERR(HX_EIO, "%s: cannot read attribute %s of %s", log->path, name, obj);
        H5Tclose(ft);
        H5Aclose(a);
    }
    H5Oclose(o);
    return rc;
}

int hx_h5log_write_array(hx_h5log *log, const char *path, hx_h5_type type, int ndim, const int64_t *dims,
                         const void *data)
{
    if (ndim < 1 || ndim > 8) return HX_ERR(HX_EINVAL, "%s: %s: ndim %d outside 1..8", log->path, path, ndim);
    hsize_t d[8];
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) return HX_ERR(HX_EINVAL, "%s: %s: negative dimension %d", log->path, path, i);
        d[i] = (hsize_t)dims[i];
    }
    if (link_exists(log->file, path) && H5Ldelete(log->file, path, H5P_DEFAULT) < 0)
        return HX_ERR(HX_EIO, "%s: cannot replace %s", log->path, path);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t sp = H5Screate_simple(ndim, d, NULL);
    hid_t ftype = type == HX_H5_F32 ? H5T_IEEE_F32LE : type == HX_H5_F64 ? H5T_IEEE_F64LE : H5T_STD_I64LE;
    hid_t mtype = array_mem_type(type);
    hid_t ds = H5Dcreate2(log->file, path, ftype, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = ds < 0 ? -1 : H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    H5Pclose(lcpl);
    if (e < 0) return HX_ERR(HX_EIO, "%s: cannot write dataset %s", log->path, path);
    return flush(log);
}

int hx_h5log_list(hx_h5log *log, const char *group, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    if (strcmp(group, "/") && !link_exists(log->file, group)) return HX_OK;
    hid_t g = open_group(log, group, 0);
    if (g < 0) return HX_ERR(HX_EIO, "%s: cannot open group %s", log->path, group);
    col_list cl = {.n = 0};
    herr_t e = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_cb, &cl);
    H5Gclose(g);
    if (e < 0) {
        free_cols(&cl);
        return HX_ERR(HX_EIO, "%s: cannot list group %s", log->path, group);
    }
    *names = hx_calloc((size_t)cl.n + 1, sizeof(char *));
    if (!*names) {
        free_cols(&cl);
        return HX_ENOMEM;
    }
    for (int i = 0; i < cl.n; i++) (*names)[i] = cl.names[i]; /* ownership moves to the caller */
    *n = cl.n;
    return HX_OK;
}

void hx_h5log_free_list(char **names, int n)
{
    for (int i = 0; i < n && names; i++) free(names[i]);
    free(names);
}

/* ---- provenance ---- */

static void git_commit(char out[64])
{
    snprintf(out, 64, "unknown");
    /* the commit of the harness checkout, not of the working directory */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD 2>/dev/null", hx_home() ? hx_home() : ".");
    FILE *p = popen(cmd, "r");
    if (!p) return;
    char buf[64] = {0};
    if (fgets(buf, sizeof buf, p)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        if (strlen(buf) == 40) snprintf(out, 64, "%s", buf);
    }
    pclose(p);
}

int hx_h5log_set_provenance(hx_h5log *log, const char *manifest_text)
{
    char sha[65], now[32], commit[64], hdf5v[32], host[256] = "unknown";
    hx_sha256_hex(manifest_text, strlen(manifest_text), sha);
    char *old_sha = NULL, *old_start = NULL;
    hx_h5log_get_attr_str(log, "/", "manifest_sha256", &old_sha);
    hx_h5log_get_attr_str(log, "/", "start_time", &old_start);
    hx_clearerr();
    int differs = old_sha && strcmp(old_sha, sha);
    free(old_sha);
    if (differs) {
        free(old_start);
        return HX_ERR(HX_EINVAL, "%s: the run log was written for a different manifest (manifest_sha256 differs); "
                                 "refusing to mix runs in one file",
                      log->path);
    }
    hx_iso8601_now(now);
    git_commit(commit);
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    snprintf(hdf5v, sizeof hdf5v, "%u.%u.%u", maj, min, rel);
    gethostname(host, sizeof host - 1);
    int rc = HX_OK;
#define A(call) \
    if (rc == HX_OK) rc = (call)
    A(hx_h5log_attr_int(log, "/", "schema_version", HX_H5LOG_SCHEMA_VERSION));
    A(hx_h5log_attr_str(log, "/", "manifest", manifest_text));
    A(hx_h5log_attr_str(log, "/", "manifest_sha256", sha));
    A(hx_h5log_attr_str(log, "/", "git_commit", commit));
    A(hx_h5log_attr_str(log, "/", "harness_version", HX_VERSION));
    A(hx_h5log_attr_str(log, "/", "hdf5_version", hdf5v));
    hx_cpu_features cpu;
    char features[256];
    hx_cpu_detect(&cpu);
    hx_cpu_feature_string(&cpu, features, sizeof features);
    A(hx_h5log_attr_str(log, "/", "openblas_config", hx_blas_config()));
    A(hx_h5log_attr_str(log, "/", "blas_core", hx_blas_core()));
    A(hx_h5log_attr_str(log, "/", "cpu", cpu.brand));
    A(hx_h5log_attr_str(log, "/", "cpu_features", features));
    A(hx_h5log_attr_str(log, "/", "compiler", "gcc-compatible " __VERSION__));
    A(hx_h5log_attr_str(log, "/", "host", host));
    A(hx_h5log_attr_int(log, "/", "threads", hx_threads()));
    A(hx_h5log_attr_str(log, "/", old_start ? "resume_time" : "start_time", now));
#undef A
    free(old_start);
    if (rc == HX_OK) rc = flush(log);
    return rc;
}

int hx_h5log_finish(hx_h5log *log)
{
    char now[32];
    hx_iso8601_now(now);
    HX_TRY(hx_h5log_attr_str(log, "/", "end_time", now));
    return flush(log);
}

double hx_h5log_last(hx_h5log *log, const char *table, const char *name)
{
    double *v = NULL;
    int64_t n = 0;
    if (hx_h5log_read_column(log, table, name, &v, &n) < 0 || n == 0) {
        hx_clearerr();
        free(v);
        return NAN;
    }
    double x = v[n - 1];
    free(v);
    return x;
}
