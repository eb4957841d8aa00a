/* Checkpoint directory mechanics and trainer state (see ckpt.h for the layout). */
#include "train/ckpt.h"

#include "core/dist.h"
#include "core/err.h"
#include "core/util.h"
#include "model/safetensors.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMPLETE "COMPLETE"
#define STATE_FILE "trainer_state.json"

static int (*write_file)(const char *, const void *, size_t) = hx_write_file_atomic;

void hx_ckpt_set_write_hook(int (*fn)(const char *path, const void *data, size_t len))
{
    write_file = fn ? fn : hx_write_file_atomic;
}


static int io_code(int e)
{
    return e == ENOSPC || e == EDQUOT ? HX_ENOSPC : HX_EIO;
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return HX_ERR(HX_EIO, "%s: cannot open for fsync: %s", path, strerror(errno));
    int rc = fsync(fd) == 0 ? HX_OK : HX_ERR(io_code(errno), "%s: fsync failed: %s", path, strerror(errno));
    close(fd);
    return rc;
}

/* Parses "step-XXXXXXXX" (exactly; no suffix). Returns the step or -1. */
static int64_t parse_step_name(const char *name)
{
    if (strncmp(name, "step-", 5) != 0) return -1;
    const char *p = name + 5;
    if (!*p) return -1;
    int64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > INT64_MAX / 10 - 10) return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

/* Removes step-*.tmp-<pid> directories whose process is gone. */
static void remove_stale_tmp(const char *root)
{
    DIR *d = opendir(root);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp-");
        if (strncmp(e->d_name, "step-", 5) != 0 || !t) continue;
        long pid = strtol(t + 5, NULL, 10);
        if (pid <= 0 || pid == (long)getpid() || hx_pid_gone(pid)) {
            char *p = hx_path_join(root, e->d_name);
            if (p) hx_rm_rf(p);
            free(p);
        }
    }
    closedir(d);
}

static void tx_free(hx_ckpt_tx *tx)
{
    free(tx->root);
    free(tx->tmp_dir);
    free(tx->final_dir);
    memset(tx, 0, sizeof *tx);
}

int hx_ckpt_begin(const char *root, int64_t step, hx_ckpt_tx *tx)
{
    memset(tx, 0, sizeof *tx);
    if (step < 0) return HX_ERR(HX_EINVAL, "checkpoint: negative step %" PRId64, step);
    HX_TRY(hx_mkdir_p(root));
    remove_stale_tmp(root);
    char name[64];
    snprintf(name, sizeof name, "step-%08" PRId64, step);
    tx->root = strdup(root);
    tx->final_dir = hx_path_join(root, name);
    snprintf(name + strlen(name), sizeof name - strlen(name), ".tmp-%d", (int)getpid());
    tx->tmp_dir = hx_path_join(root, name);
    tx->step = step;
    if (!tx->root || !tx->final_dir || !tx->tmp_dir) {
        tx_free(tx);
        return HX_ERR(HX_ENOMEM, "checkpoint: out of memory");
    }
    hx_rm_rf(tx->tmp_dir);
    if (mkdir(tx->tmp_dir, 0755) != 0) {
        int rc = HX_ERR(io_code(errno), "%s: cannot create checkpoint directory: %s", tx->tmp_dir, strerror(errno));
        tx_free(tx);
        return rc;
    }
    return HX_OK;
}

void hx_ckpt_abort(hx_ckpt_tx *tx)
{
    if (tx->tmp_dir) hx_rm_rf(tx->tmp_dir);
    tx_free(tx);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the regular files in `dir` (excluding COMPLETE). */
static int list_files(const char *dir, char ***out, int *n)
{
    DIR *d = opendir(dir);
    if (!d) return HX_ERR(HX_EIO, "%s: cannot list: %s", dir, strerror(errno));
    char **names = NULL;
    int cnt = 0, cap = 0, rc = HX_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, COMPLETE)) continue;
        if (cnt == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn) {
                rc = HX_ERR(HX_ENOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        names[cnt++] = strdup(e->d_name);
    }
    closedir(d);
    if (names) qsort(names, (size_t)cnt, sizeof *names, cmp_str);
    *out = names;
    *n = cnt;
    return rc;
}

static void free_list(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Complete checkpoints under root, sorted by step (ascending). */
typedef struct {
    int64_t step;
    char *path;
} ckpt_entry;

static int cmp_entry(const void *a, const void *b)
{
    const ckpt_entry *x = a, *y = b;
    return (x->step > y->step) - (x->step < y->step);
}

static int list_complete(const char *root, ckpt_entry **out, int *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(root);
    if (!d) return errno == ENOENT ? HX_OK : HX_ERR(HX_EIO, "%s: cannot list: %s", root, strerror(errno));
    ckpt_entry *es = NULL;
    int cnt = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t s = parse_step_name(e->d_name);
        if (s < 0) continue;
        char *p = hx_path_join(root, e->d_name);
        char *c = p ? hx_path_join(p, COMPLETE) : NULL;
        int ok = c && access(c, F_OK) == 0;
        free(c);
        if (!ok) {
            if (p) fprintf(stderr, "warning: %s has no COMPLETE marker; skipped (incomplete checkpoint)\n", p);
            free(p);
            continue;
        }
        if (cnt == cap) {
            cap = cap ? 2 * cap : 8;
            ckpt_entry *ne = realloc(es, (size_t)cap * sizeof *ne);
            if (!ne) {
                free(p);
                break;
            }
            es = ne;
        }
        es[cnt++] = (ckpt_entry){s, p};
    }
    closedir(d);
    if (es) qsort(es, (size_t)cnt, sizeof *es, cmp_entry);
    *out = es;
    *n = cnt;
    return HX_OK;
}

static void free_entries(ckpt_entry *es, int n)
{
    for (int i = 0; i < n; i++) free(es[i].path);
    free(es);
}

static int write_complete(const char *dir)
{
    char **names = NULL;
    int n = 0;
    HX_TRY(list_files(dir, &names, &n));
    size_t cap = (size_t)n * 80 + 1, len = 0;
    char *buf = hx_malloc(cap);
    int rc = buf ? HX_OK : HX_ENOMEM;
    for (int i = 0; i < n && rc == HX_OK; i++) {
        char *p = hx_path_join(dir, names[i]);
        char hex[65];
        rc = p ? hx_sha256_file(p, hex) : HX_ENOMEM;
        if (rc == HX_OK) rc = fsync_path(p);
        free(p);
        if (rc == HX_OK) {
            size_t need = len + 64 + 2 + strlen(names[i]) + 2;
            if (need > cap) {
                char *nb = realloc(buf, cap = 2 * need);
                if (!nb) rc = HX_ERR(HX_ENOMEM, "out of memory");
                else buf = nb;
            }
            if (rc == HX_OK) len += (size_t)sprintf(buf + len, "%s  %s\n", hex, names[i]);
        }
    }
    free_list(names, n);
    char *cp = rc == HX_OK ? hx_path_join(dir, COMPLETE) : NULL;
    if (rc == HX_OK) rc = cp ? write_file(cp, buf, len) : HX_ENOMEM;
    free(cp);
    free(buf);
    if (rc == HX_OK) rc = fsync_path(dir);
    return rc;
}

int hx_ckpt_prune(const char *root, int keep_last)
{
    if (keep_last <= 0) return HX_OK;
    remove_stale_tmp(root);
    ckpt_entry *es;
    int n;
    HX_TRY(list_complete(root, &es, &n));
    int rc = HX_OK;
    /* Renamed out of the step-XXXXXXXX namespace first (atomic), then
     * removed: a kill during the removal leaves a step-*.tmp-<pid> that the
     * next begin or prune deletes, never a half-deleted checkpoint. */
    for (int i = 0; i + keep_last < n && rc == HX_OK; i++) {
        char *doomed = hx_strfmt("%s.tmp-%d-old", es[i].path, (int)getpid());
        if (!doomed) rc = HX_ENOMEM;
        else if (rename(es[i].path, doomed) != 0)
            rc = HX_ERR(HX_EIO, "%s: cannot move aside: %s", es[i].path, strerror(errno));
        else
            rc = hx_rm_rf(doomed);
        free(doomed);
    }
    free_entries(es, n);
    return rc;
}

int hx_ckpt_commit(hx_ckpt_tx *tx, int keep_last)
{
    int rc = write_complete(tx->tmp_dir);
    char *old = NULL;
    if (rc == HX_OK && access(tx->final_dir, F_OK) == 0) { /* re-saving a step: move the old one aside first */
        size_t l = strlen(tx->final_dir) + 32;
        old = hx_malloc(l);
        if (!old) rc = HX_ENOMEM;
        else {
            snprintf(old, l, "%s.tmp-%d-old", tx->final_dir, (int)getpid());
            hx_rm_rf(old);
            if (rename(tx->final_dir, old) != 0)
                rc = HX_ERR(HX_EIO, "%s: cannot move aside: %s", tx->final_dir, strerror(errno));
        }
    }
    if (rc == HX_OK && rename(tx->tmp_dir, tx->final_dir) != 0)
        rc = HX_ERR(io_code(errno), "%s: cannot rename to %s: %s", tx->tmp_dir, tx->final_dir, strerror(errno));
    if (rc == HX_OK) rc = fsync_path(tx->root);
    if (old) {
        if (rc == HX_OK) hx_rm_rf(old);
        else rename(old, tx->final_dir); /* put the previous checkpoint back */
        free(old);
    }
    if (rc == HX_OK) rc = hx_ckpt_prune(tx->root, keep_last);
    if (rc < 0) {
        hx_adderr(rc, "checkpoint step %" PRId64 " not saved (earlier checkpoints are intact)", tx->step);
        hx_rm_rf(tx->tmp_dir);
    }
    tx_free(tx);
    return rc;
}

int hx_ckpt_save(const char *root, int64_t step, int keep_last, hx_ckpt_write_fn fn, void *ctx, char **saved)
{
    if (saved) *saved = NULL;
    hx_ckpt_tx tx;
    HX_TRY(hx_ckpt_begin(root, step, &tx));
    int rc = fn(tx.tmp_dir, ctx);
    if (rc < 0) {
        hx_adderr(rc, "checkpoint step %" PRId64 " not saved (earlier checkpoints are intact)", step);
        hx_ckpt_abort(&tx);
        return rc;
    }
    char *final = saved ? strdup(tx.final_dir) : NULL;
    rc = hx_ckpt_commit(&tx, keep_last);
    if (rc == HX_OK && saved) *saved = final;
    else free(final);
    return rc;
}

int hx_ckpt_latest(const char *root, char **path, int64_t *step)
{
    *path = NULL;
    ckpt_entry *es;
    int n;
    HX_TRY(list_complete(root, &es, &n));
    if (n == 0) {
        free(es);
        return 0;
    }
    *path = es[n - 1].path;
    *step = es[n - 1].step;
    es[n - 1].path = NULL;
    free_entries(es, n);
    return 1;
}

int hx_ckpt_check(const char *dir, int verify)
{
    char *cp = hx_path_join(dir, COMPLETE);
    if (!cp) return HX_ENOMEM;
    char *text;
    size_t len;
    int rc = hx_read_file(cp, &text, &len);
    free(cp);
    if (rc < 0)
        return HX_ERR(HX_EFORMAT,
                      "%s is not a complete checkpoint (no COMPLETE marker: it was interrupted while being "
                      "written); refusing to resume from it - use the latest complete checkpoint instead",
                      dir);
    int nfiles = 0;
    for (char *line = strtok(text, "\n"); line && rc == HX_OK; line = strtok(NULL, "\n")) {
        const char *name = line + 66; /* a file directly in dir, after 64 hex digits and two spaces */
        if (strlen(line) < 67 || strspn(line, "0123456789abcdef") != 64 || line[64] != ' ' || line[65] != ' ' ||
            strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
            rc = HX_ERR(HX_EFORMAT, "%s/COMPLETE: malformed line '%.80s'", dir, line);
            break;
        }
        char *p = hx_path_join(dir, name);
        char hex[65];
        if (!p) rc = HX_ENOMEM;
        else if (access(p, R_OK) != 0)
            rc = HX_ERR(HX_EFORMAT, "%s: listed in COMPLETE but missing; checkpoint is corrupt", p);
        else if (verify && (hx_sha256_file(p, hex) < 0 || strncmp(hex, line, 64) != 0))
            rc = HX_ERR(HX_EFORMAT, "%s: SHA-256 differs from COMPLETE; checkpoint is corrupt", p);
        free(p);
        nfiles++;
    }
    free(text);
    if (rc == HX_OK && nfiles == 0) rc = HX_ERR(HX_EFORMAT, "%s/COMPLETE lists no files", dir);
    return rc;
}

/* ---- optimizer state ---- */

static int optim_entries(const hx_adamw *opt, const hx_model *params, hx_param **views, char (**names)[112],
                         int *np)
{
    if (opt->n != params->n_floats)
        return HX_ERR(HX_EINVAL, "optimizer holds %zu parameters, model %zu", opt->n, params->n_floats);
    *np = hx_model_num_params(&params->cfg);
    *views = hx_calloc((size_t)*np, sizeof **views);
    *names = hx_calloc((size_t)*np * 2, sizeof **names);
    if (!*views || !*names) {
        free(*views);
        free(*names);
        return HX_ENOMEM;
    }
    hx_model_params(params, *views);
    for (int i = 0; i < *np; i++) {
        snprintf((*names)[2 * i], sizeof **names, "%s.exp_avg", (*views)[i].name);
        snprintf((*names)[2 * i + 1], sizeof **names, "%s.exp_avg_sq", (*views)[i].name);
    }
    return HX_OK;
}

int hx_ckpt_write_optim(const char *dir, const hx_adamw *opt, const hx_model *params)
{
    hx_param *v;
    char(*names)[112];
    int np;
    HX_TRY(optim_entries(opt, params, &v, &names, &np));
    hx_st_entry *es = hx_calloc((size_t)np * 2, sizeof *es);
    int rc = es ? HX_OK : HX_ENOMEM;
    for (int i = 0; i < np && rc == HX_OK; i++) {
        size_t off = (size_t)(v[i].data - params->data);
        for (int k = 0; k < 2; k++)
            es[2 * i + k] = (hx_st_entry){.name = names[2 * i + k], .data = (k ? opt->v : opt->m) + off,
                                          .src = HX_DT_F32, .dtype = HX_DT_F32, .ndim = v[i].cols ? 2 : 1,
                                          .shape = {v[i].rows, v[i].cols}};
    }
    if (rc == HX_OK) rc = hx_st_write(dir, "optimizer", es, 2 * np, 0);
    free(es);
    free(v);
    free(names);
    return rc;
}

int hx_ckpt_write_optim_shards(const char *dir, const hx_adamw *opt, int world_size)
{
    json_t *shards = json_array();
    int rc = shards ? HX_OK : HX_ENOMEM;
    for (int r = 0; r < world_size && rc == HX_OK; r++) {
        size_t lo, hi;
        hx_dist_shard(opt->n, r, world_size, &lo, &hi);
        char stem[64];
        snprintf(stem, sizeof stem, "optimizer-%d-of-%d", r, world_size);
        hx_st_entry es[2] = {{.name = "exp_avg", .data = opt->m + lo, .src = HX_DT_F32, .dtype = HX_DT_F32, .ndim = 1,
                              .shape = {(int64_t)(hi - lo)}},
                             {.name = "exp_avg_sq", .data = opt->v + lo, .src = HX_DT_F32, .dtype = HX_DT_F32,
                              .ndim = 1, .shape = {(int64_t)(hi - lo)}}};
        rc = hx_st_write(dir, stem, es, 2, 0);
        char file[80];
        snprintf(file, sizeof file, "%s.safetensors", stem);
        if (rc == HX_OK)
            json_array_append_new(shards, json_pack("{s:s, s:I, s:I}", "file", file, "offset", (json_int_t)lo,
                                                    "length", (json_int_t)(hi - lo)));
    }
    json_t *j = rc == HX_OK ? json_pack("{s:s, s:i, s:I, s:o}", "format", "zero1", "world_size", world_size,
                                        "n_floats", (json_int_t)opt->n, "shards", shards)
                            : NULL;
    if (!j) json_decref(shards);
    char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL, *path = hx_path_join(dir, "optimizer.json");
    if (rc == HX_OK) rc = text && path ? write_file(path, text, strlen(text)) : HX_ENOMEM;
    json_decref(j);
    free(text);
    free(path);
    return rc;
}

/* The moments of the shards listed in <dir>/optimizer.json into opt->m and opt->v. */
static int read_optim_shards(const char *dir, const char *manifest, hx_adamw *opt)
{
    json_error_t err;
    json_t *j = json_load_file(manifest, 0, &err), *shards = j ? json_object_get(j, "shards") : NULL;
    if (!j) return HX_ERR(HX_EFORMAT, "%s:%d: %s", manifest, err.line, err.text);
    int rc = HX_OK;
    if ((size_t)json_integer_value(json_object_get(j, "n_floats")) != opt->n || !json_is_array(shards))
        rc = HX_ERR(HX_EFORMAT, "%s: n_floats %lld does not match the model's %zu parameters, or no shards", manifest,
                    (long long)json_integer_value(json_object_get(j, "n_floats")), opt->n);
    size_t covered = 0;
    for (size_t i = 0; rc == HX_OK && i < json_array_size(shards); i++) {
        json_t *e = json_array_get(shards, i);
        const char *file = json_string_value(json_object_get(e, "file"));
        size_t off = (size_t)json_integer_value(json_object_get(e, "offset"));
        size_t len = (size_t)json_integer_value(json_object_get(e, "length"));
        if (!file || strchr(file, '/') || off + len > opt->n || off != covered) {
            rc = HX_ERR(HX_EFORMAT, "%s: shard %zu (file, offset %zu, length %zu) is not the next range of the "
                                    "%zu parameters",
                        manifest, i, off, len, opt->n);
            break;
        }
        char *path = hx_path_join(dir, file);
        hx_st *st = NULL;
        rc = path ? hx_st_open(path, &st) : HX_ENOMEM;
        for (int k = 0; k < 2 && rc == HX_OK; k++) {
            const char *name = k ? "exp_avg_sq" : "exp_avg";
            const hx_st_tensor *t = hx_st_find(st, name);
            if (!t) rc = HX_ERR(HX_EFORMAT, "%s: tensor %s missing", path, name);
            else rc = hx_st_read_f32_finite(st, t, (k ? opt->v : opt->m) + off, len);
        }
        hx_st_close(st);
        free(path);
        covered += len;
    }
    if (rc == HX_OK && covered != opt->n)
        rc = HX_ERR(HX_EFORMAT, "%s: the shards cover %zu of %zu parameters", manifest, covered, opt->n);
    json_decref(j);
    return rc;
}

int hx_ckpt_read_optim(const char *dir, hx_adamw *opt, const hx_model *params)
{
    char *manifest = hx_path_join(dir, "optimizer.json");
    if (!manifest) return HX_ENOMEM;
    if (access(manifest, F_OK) == 0) { /* ZeRO-1 shards, from any number of ranks */
        int rc = read_optim_shards(dir, manifest, opt);
        free(manifest);
        return rc;
    }
    free(manifest);
    hx_param *v;
    char(*names)[112];
    int np;
    HX_TRY(optim_entries(opt, params, &v, &names, &np));
    char *path = hx_path_join(dir, "optimizer.safetensors");
    hx_st *st = NULL;
    int rc = path ? hx_st_open(path, &st) : HX_ENOMEM;
    for (int i = 0; i < np && rc == HX_OK; i++) {
        size_t off = (size_t)(v[i].data - params->data);
        size_t len = (size_t)v[i].rows * (size_t)(v[i].cols ? v[i].cols : 1);
        for (int k = 0; k < 2 && rc == HX_OK; k++) {
            const hx_st_tensor *t = hx_st_find(st, names[2 * i + k]);
            if (!t) rc = HX_ERR(HX_EFORMAT, "%s: tensor %s missing", path, names[2 * i + k]);
            else rc = hx_st_read_f32_finite(st, t, (k ? opt->v : opt->m) + off, len);
        }
    }
    hx_st_close(st);
    free(path);
    free(v);
    free(names);
    return rc;
}

/* ---- trainer_state.json ---- */

int hx_ckpt_write_state(const char *dir, const hx_train_state *st)
{
    char rng[24];
    snprintf(rng, sizeof rng, "%016" PRIx64, st->rng_state);
    json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:s, s:f}", "step", (json_int_t)st->step, "tokens",
                          (json_int_t)st->tokens, "skipped_steps", (json_int_t)st->skipped_steps, "optimizer_step",
                          (json_int_t)st->optimizer_step, "rng_state", rng, "lr", st->lr);
    if (!j) return HX_ERR(HX_ENOMEM, "trainer state: cannot build JSON");
    json_object_set(j, "sampler", st->sampler ? st->sampler : json_null());
    json_object_set(j, "config", st->config ? st->config : json_null());
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(j);
    char *path = hx_path_join(dir, STATE_FILE);
    int rc = text && path ? write_file(path, text, strlen(text)) : HX_ENOMEM;
    free(text);
    free(path);
    return rc;
}

static int get_i64(json_t *j, const char *path, const char *key, int64_t *out)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return HX_ERR(HX_EFORMAT, "%s: field '%s' missing or not a non-negative integer", path, key);
    *out = json_integer_value(v);
    return HX_OK;
}

int hx_ckpt_read_state(const char *dir, hx_train_state *st)
{
    memset(st, 0, sizeof *st);
    char *path = hx_path_join(dir, STATE_FILE);
    if (!path) return HX_ENOMEM;
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    int rc = HX_OK;
    if (!j) rc = HX_ERR(HX_EFORMAT, "%s: line %d: %s", path, err.line, err.text);
    if (rc == HX_OK) rc = get_i64(j, path, "step", &st->step);
    if (rc == HX_OK) rc = get_i64(j, path, "tokens", &st->tokens);
    if (rc == HX_OK) rc = get_i64(j, path, "skipped_steps", &st->skipped_steps);
    if (rc == HX_OK) rc = get_i64(j, path, "optimizer_step", &st->optimizer_step);
    if (rc == HX_OK) {
        const char *r = json_string_value(json_object_get(j, "rng_state"));
        if (r) st->rng_state = strtoull(r, NULL, 16);
        if (!r || strlen(r) != 16 || strspn(r, "0123456789abcdefABCDEF") != 16)
            rc = HX_ERR(HX_EFORMAT, "%s: field 'rng_state' must be 16 hex digits", path);
    }
    if (rc == HX_OK) {
        json_t *lr = json_object_get(j, "lr");
        if (!json_is_number(lr)) rc = HX_ERR(HX_EFORMAT, "%s: field 'lr' missing or not a number", path);
        else st->lr = json_number_value(lr);
    }
    if (rc == HX_OK) {
        json_t *s = json_object_get(j, "sampler"), *c = json_object_get(j, "config");
        st->sampler = json_is_null(s) ? NULL : json_incref(s);
        st->config = json_is_null(c) ? NULL : json_incref(c);
    }
    json_decref(j);
    free(path);
    return rc;
}

void hx_train_state_clear(hx_train_state *st)
{
    json_decref(st->sampler);
    json_decref(st->config);
    memset(st, 0, sizeof *st);
}
