/* Fuzz target: reopening an HDF5 run log, through hx_h5log_open in append
 * mode (as a resumed run does). An opened log is walked: the member list of
 * "/", "arms" and each arm, each arm's train/eval table (rows, the tokens and
 * loss columns), the provenance attributes, every array under "importance";
 * then the resume writes: provenance check, truncate to 100 tokens, append a
 * row, finish, close. Afterwards no HDF5 object may be left open. HDF5 itself
 * is not instrumented (see tests/fuzz/README.md). */
#include "log/h5log.h"
#include "fuzz_util.h"

#include <hdf5.h>

/* Every HDF5 object the log opened must be closed again, whatever the input. */
static void check_closed(void)
{
    if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0) abort();
}

static void walk_arm(hx_h5log *log, const char *arm)
{
    static const char *const tables[] = {"train", "eval"}, *const cols[] = {"tokens", "loss"};
    char table[600];
    for (int t = 0; t < 2; t++) {
        snprintf(table, sizeof table, "arms/%s/%s", arm, tables[t]);
        int64_t rows, n;
        hx_h5log_rows(log, table, &rows);
        for (int c = 0; c < 2; c++) {
            double *v;
            if (hx_h5log_read_column(log, table, cols[c], &v, &n) == 0) free(v);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_h5log *log;
    if (hx_h5log_open(fz_write("log.h5", data, size), HX_H5LOG_APPEND, &log) < 0) {
        check_closed();
        return 0;
    }
    char **names, *s, path[600];
    int n;
    double d;
    if (hx_h5log_list(log, "/", &names, &n) == 0) hx_h5log_free_list(names, n);
    if (hx_h5log_list(log, "arms", &names, &n) == 0) {
        for (int i = 0; i < n; i++) walk_arm(log, names[i]);
        hx_h5log_free_list(names, n);
    }
    if (hx_h5log_list(log, "importance", &names, &n) == 0) {
        for (int i = 0; i < n; i++) {
            void *arr;
            int ndim;
            int64_t dims[8];
            snprintf(path, sizeof path, "importance/%s", names[i]);
            if (hx_h5log_read_array(log, path, HX_H5_F64, &arr, &ndim, dims) == 0) free(arr);
        }
        hx_h5log_free_list(names, n);
    }
    if (hx_h5log_get_attr_str(log, "/", "manifest_sha256", &s) == 0) free(s);
    hx_h5log_get_attr_double(log, "/", "schema_version", &d);
    hx_h5log_set_provenance(log, "seed: 1\n");
    hx_h5log_truncate_tokens(log, "arms/teacher/train", 100);
    static const char *const cols[] = {"step", "tokens", "loss"};
    static const double vals[] = {1, 200, 2.5};
    hx_h5log_append(log, "arms/teacher/train", cols, vals, 3);
    hx_h5log_finish(log);
    hx_h5log_close(log);
    check_closed();
    return 0;
}
