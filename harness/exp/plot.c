/* Plot export: TSV writers for the inputs of the gnuplot scripts in plots/ and a gnuplot runner
 * (posix_spawnp, no shell) that renders PNG, SVG and PDF. */
#include "exp/plot.h"

#include "core/err.h"
#include "core/home.h"
#include "core/util.h"
#include "exp/baselines.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

const char *hx_plot_scripts_dir(void)
{
    static char dir[4096];
    const char *d = getenv("HX_PLOTS_DIR");
    if (d && *d) return d;
    if (!*dir) snprintf(dir, sizeof dir, "%s/plots", hx_home() ? hx_home() : ".");
    return dir;
}

/* ---- TSV writers ------------------------------------------------------------------------- */

/* A memory stream that is written to `path` atomically by tsv_finish. */
typedef struct {
    FILE *f;
    char *buf;
    size_t len;
} tsv_buf;

static int tsv_open(tsv_buf *t)
{
    t->buf = NULL;
    t->len = 0;
    t->f = open_memstream(&t->buf, &t->len);
    return t->f ? HX_OK : HX_ERR(HX_ENOMEM, "open_memstream failed");
}

/* Closes the stream; writes it to `path` when rc is HX_OK. Returns rc or the write error. */
static int tsv_finish(tsv_buf *t, const char *path, int rc)
{
    if (fclose(t->f) != 0 && rc == HX_OK) rc = HX_ERR(HX_ENOMEM, "writing %s in memory failed", path);
    if (rc == HX_OK) rc = hx_write_file_atomic(path, t->buf, t->len);
    free(t->buf);
    return rc;
}

/* A field written into a TSV: non-empty, no tab/newline; with no_space also no whitespace at all
 * (names the gnuplot scripts split on whitespace). */
static int check_field(const char *s, int no_space, const char *what, const char *path)
{
    if (!s || !*s) return HX_ERR(HX_EINVAL, "%s: empty %s", path, what);
    for (const char *p = s; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r' || (no_space && *p == ' '))
            return HX_ERR(HX_EINVAL, "%s: %s '%s' contains %s", path, what, s,
                          no_space ? "whitespace" : "a tab or newline");
    return HX_OK;
}

int hx_plot_write_series_tsv(const char *path, const char *value_col, const hx_plot_series *arms, size_t n_arms)
{
    HX_TRY(check_field(value_col, 1, "value column name", path));
    for (size_t a = 0; a < n_arms; a++) {
        HX_TRY(check_field(arms[a].name, 1, "arm name", path));
        for (size_t i = 0; i < arms[a].n; i++)
            if (!isfinite(arms[a].tokens[i]) || !isfinite(arms[a].value[i]) ||
                (arms[a].lo && !isfinite(arms[a].lo[i])) || (arms[a].hi && !isfinite(arms[a].hi[i])))
                return HX_ERR(HX_EINVAL, "%s: arm '%s' point %zu is not finite (tokens %g, %s %g)", path,
                              arms[a].name, i, arms[a].tokens[i], value_col, arms[a].value[i]);
    }
    tsv_buf t;
    HX_TRY(tsv_open(&t));
    fprintf(t.f, "arm\ttokens\t%s\tlo\thi\n", value_col);
    for (size_t a = 0; a < n_arms; a++)
        for (size_t i = 0; i < arms[a].n; i++) {
            const hx_plot_series *s = &arms[a];
            fprintf(t.f, "%s\t%.17g\t%.9g\t%.9g\t%.9g\n", s->name, s->tokens[i], s->value[i],
                    s->lo ? s->lo[i] : s->value[i], s->hi ? s->hi[i] : s->value[i]);
        }
    return tsv_finish(&t, path, HX_OK);
}

int hx_plot_write_matrix_tsv(const char *path, const float *m, size_t rows, size_t cols)
{
    if (rows == 0 || cols == 0) return HX_ERR(HX_EINVAL, "%s: empty matrix (%zu x %zu)", path, rows, cols);
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite(m[i]))
            return HX_ERR(HX_EINVAL, "%s: matrix entry (%zu, %zu) is not finite", path, i / cols, i % cols);
    tsv_buf t;
    HX_TRY(tsv_open(&t));
    fprintf(t.f, "# %zu rows x %zu columns\n", rows, cols);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) fprintf(t.f, "%.9g%c", (double)m[r * cols + c], c + 1 < cols ? '\t' : '\n');
    return tsv_finish(&t, path, HX_OK);
}

int hx_plot_write_columns_tsv(const char *path, const char *index_col, const char *const *names,
                              const double *const *cols, size_t n_cols, size_t n_rows)
{
    if (n_cols == 0 || n_rows == 0) return HX_ERR(HX_EINVAL, "%s: no columns or no rows", path);
    HX_TRY(check_field(index_col, 0, "index column name", path));
    for (size_t c = 0; c < n_cols; c++) {
        HX_TRY(check_field(names[c], 0, "column name", path));
        for (size_t r = 0; r < n_rows; r++)
            if (!isfinite(cols[c][r]))
                return HX_ERR(HX_EINVAL, "%s: column '%s' row %zu is not finite", path, names[c], r);
    }
    tsv_buf t;
    HX_TRY(tsv_open(&t));
    fputs(index_col, t.f);
    for (size_t c = 0; c < n_cols; c++) fprintf(t.f, "\t%s", names[c]);
    fputc('\n', t.f);
    for (size_t r = 0; r < n_rows; r++) {
        fprintf(t.f, "%zu", r);
        for (size_t c = 0; c < n_cols; c++) fprintf(t.f, "\t%.9g", cols[c][r]);
        fputc('\n', t.f);
    }
    return tsv_finish(&t, path, HX_OK);
}

int hx_plot_write_bars_tsv(const char *path, const char *const *labels, const double *values,
                           const double *errors, size_t n)
{
    if (n == 0) return HX_ERR(HX_EINVAL, "%s: no bars", path);
    for (size_t i = 0; i < n; i++) {
        HX_TRY(check_field(labels[i], 0, "bar label", path));
        if (!isfinite(values[i]) || (errors && !isfinite(errors[i])))
            return HX_ERR(HX_EINVAL, "%s: bar '%s' has a non-finite value or error", path, labels[i]);
    }
    tsv_buf t;
    HX_TRY(tsv_open(&t));
    fprintf(t.f, errors ? "label\tvalue\terror\n" : "label\tvalue\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(t.f, "%s\t%.9g", labels[i], values[i]);
        if (errors) fprintf(t.f, "\t%.9g", errors[i]);
        fputc('\n', t.f);
    }
    return tsv_finish(&t, path, HX_OK);
}

/* ---- gnuplot runner ---------------------------------------------------------------------- */

static int valid_var_name(const char *s)
{
    if (!s || !(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))) return 0;
    for (const char *p = s + 1; *p; p++)
        if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return 0;
    return 1;
}

/* Appends name='value' (gnuplot single-quoted: ' becomes '') and "; " to the stream. */
static int put_assignment(FILE *f, const char *name, const char *value)
{
    if (!valid_var_name(name)) return HX_ERR(HX_EINVAL, "gnuplot variable name '%s' is not an identifier", name ? name : "(null)");
    if (!value) return HX_ERR(HX_EINVAL, "gnuplot variable '%s' has no value", name);
    if (strpbrk(value, "\n\r")) return HX_ERR(HX_EINVAL, "gnuplot variable '%s' contains a newline", name);
    fprintf(f, "%s='", name);
    for (const char *p = value; *p; p++) {
        if (*p == '\'') fputc('\'', f);
        fputc(*p, f);
    }
    fputs("'; ", f);
    return HX_OK;
}

/* First line of the gnuplot log that reports an error (else its last non-empty line), trimmed. */
static void log_excerpt(const char *log_path, char *out, size_t cap)
{
    out[0] = '\0';
    char *text = NULL;
    size_t len = 0;
    if (hx_read_file(log_path, &text, &len) < 0) {
        hx_clearerr();
        return;
    }
    const char *best = NULL, *last = NULL;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (!*line || strspn(line, " ^") == strlen(line)) continue;
        last = line;
        if (!best && (strstr(line, "error") || strstr(line, "Cannot") || strstr(line, "cannot"))) best = line;
    }
    if (!best) best = last;
    if (best) snprintf(out, cap, "%s", best);
    free(text);
}

/* Runs the gnuplot program with argv {prog, "-e", assign, script}; stdin from /dev/null, stdout
 * and stderr to log_path. Returns the exit status (>= 0) or a negative hx code. */
static int spawn_gnuplot(const char *prog, const char *assign, const char *script, const char *log_path)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) return HX_ERR(HX_ENOMEM, "posix_spawn_file_actions_init failed");
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char *argv[] = {(char *)prog, "-e", (char *)assign, (char *)script, NULL};
    pid_t pid;
    int err = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err == ENOENT || err == EACCES)
        return HX_ERR(HX_EIO, "gnuplot not found ('%s'%s); install the Debian package gnuplot-nox "
                              "(make deps), or set HX_GNUPLOT to the gnuplot program",
                      prog, strchr(prog, '/') ? "" : " is not on PATH");
    if (err != 0) return HX_ERR(HX_EIO, "cannot start %s: %s", prog, strerror(err));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return HX_ERR(HX_EIO, "waitpid(%s) failed: %s", prog, strerror(errno));
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

int hx_plot_render(const char *script, const hx_plot_var *vars, size_t n_vars, const char *out_stem,
                   unsigned formats)
{
    static const struct {
        unsigned bit;
        const char *ext;
    } fmts[] = {{HX_PLOT_PNG, "png"}, {HX_PLOT_SVG, "svg"}, {HX_PLOT_PDF, "pdf"}};
    if ((formats & HX_PLOT_ALL) == 0) return HX_ERR(HX_EINVAL, "plot %s: no output format requested", script);
    const char *prog = getenv("HX_GNUPLOT");
    if (!prog || !*prog) prog = "gnuplot";

    char script_path[4096];
    snprintf(script_path, sizeof script_path, "%s/%s.gp", hx_plot_scripts_dir(), script);
    if (access(script_path, R_OK) != 0)
        return HX_ERR(HX_EIO, "plot script %s not found (run from the repository root or set HX_PLOTS_DIR)",
                      script_path);
    for (size_t i = 0; i < n_vars; i++)
        if (vars[i].is_file && vars[i].value && access(vars[i].value, R_OK) != 0)
            return HX_ERR(HX_EIO, "plot %s: data file '%s' (%s) not found: %s", script, vars[i].value,
                          vars[i].name, strerror(errno));

    char log_path[4096], out_path[4096], excerpt[512];
    snprintf(log_path, sizeof log_path, "%s.gnuplot.log", out_stem);
    for (size_t k = 0; k < sizeof fmts / sizeof *fmts; k++) {
        if (!(formats & fmts[k].bit)) continue;
        tsv_buf a;
        HX_TRY(tsv_open(&a));
        int rc = HX_OK;
        for (size_t i = 0; i < n_vars && rc == HX_OK; i++) rc = put_assignment(a.f, vars[i].name, vars[i].value);
        if (rc == HX_OK) rc = put_assignment(a.f, "out", out_stem);
        if (rc == HX_OK) rc = put_assignment(a.f, "fmt", fmts[k].ext);
        if (fclose(a.f) != 0 && rc == HX_OK) rc = HX_ERR(HX_ENOMEM, "building gnuplot arguments failed");
        snprintf(out_path, sizeof out_path, "%s.%s", out_stem, fmts[k].ext);
        if (rc == HX_OK) {
            unlink(out_path); /* a stale figure must not pass the check below */
            rc = spawn_gnuplot(prog, a.buf, script_path, log_path);
        }
        free(a.buf);
        HX_TRY(rc);
        if (rc != 0) {
            log_excerpt(log_path, excerpt, sizeof excerpt);
            return HX_ERR(HX_EIO, "gnuplot %s (%s) exited with status %d: %s (full log: %s)", script_path,
                          fmts[k].ext, rc, excerpt[0] ? excerpt : "no message", log_path);
        }
        struct stat st;
        if (stat(out_path, &st) != 0 || st.st_size == 0)
            return HX_ERR(HX_EIO, "gnuplot %s wrote no %s output at %s (log: %s)", script_path, fmts[k].ext,
                          out_path, log_path);
    }
    unlink(log_path);
    return HX_OK;
}

/* ---- figures ----------------------------------------------------------------------------- */

/* Paths <out_dir>/<stem>.tsv and <out_dir>/<stem>, after creating out_dir. */
static int figure_paths(const char *out_dir, const char *stem, char *tsv, char *out, size_t cap)
{
    HX_TRY(hx_mkdir_p(out_dir));
    if ((size_t)snprintf(tsv, cap, "%s/%s.tsv", out_dir, stem) >= cap ||
        (size_t)snprintf(out, cap, "%s/%s", out_dir, stem) >= cap)
        return HX_ERR(HX_EINVAL, "plot output path %s/%s is too long", out_dir, stem);
    return HX_OK;
}

/* Adds the reference lines and note of `refs` to the gnuplot variables v[*nv] (texts in buf). */
static void ref_vars(const hx_plot_refs *refs, hx_plot_var *v, size_t *nv, char buf[2][32])
{
    if (!refs) return;
    if (isfinite(refs->teacher)) {
        snprintf(buf[0], 32, "%.9g", refs->teacher);
        v[(*nv)++] = (hx_plot_var){"teacher", buf[0], 0};
    }
    if (isfinite(refs->chance)) {
        snprintf(buf[1], 32, "%.9g", refs->chance);
        v[(*nv)++] = (hx_plot_var){"chance", buf[1], 0};
    }
    if (refs->note) v[(*nv)++] = (hx_plot_var){"note", refs->note, 0};
}

int hx_plot_val_loss(const char *out_dir, const char *stem, const char *xlabel, const hx_plot_series *arms,
                     size_t n_arms, const hx_plot_refs *refs, unsigned formats)
{
    char tsv[4096], out[4096], buf[2][32];
    HX_TRY(figure_paths(out_dir, stem, tsv, out, sizeof tsv));
    HX_TRY(hx_plot_write_series_tsv(tsv, "val_loss", arms, n_arms));
    hx_plot_var v[8] = {{"data", tsv, 1}};
    size_t nv = 1;
    if (xlabel) v[nv++] = (hx_plot_var){"xlabel", xlabel, 0};
    if (xlabel && strstr(xlabel, "FLOP")) v[nv++] = (hx_plot_var){"logx", "1", 0};
    ref_vars(refs, v, &nv, buf);
    return hx_plot_render("val_loss_vs_tokens", v, nv, out, formats);
}

/* Writes the reference points as "model tokens accuracy group" (accuracy_vs_tokens.gp `ref`). */
static int write_reference_tsv(const char *path, const hx_ref_point *pts, size_t n)
{
    tsv_buf t;
    HX_TRY(tsv_open(&t));
    fprintf(t.f, "model\ttokens\taccuracy\tgroup\n");
    for (size_t i = 0; i < n; i++)
        fprintf(t.f, "%s\t%.17g\t%.9g\t%s\n", pts[i].model, pts[i].tokens, pts[i].accuracy, pts[i].group);
    return tsv_finish(&t, path, HX_OK);
}

/* Writes the MMLU 5-shot reference points of baselines_dir to <out_dir>/<stem>.tsv. */
static int reference_tsv(const char *baselines_dir, const char *path)
{
    hx_ref_point *pts = NULL;
    size_t n = 0;
    HX_TRY(hx_baselines_reference(baselines_dir, "mmlu", 5, &pts, &n));
    int rc = write_reference_tsv(path, pts, n);
    free(pts);
    return rc;
}

int hx_plot_accuracy(const char *out_dir, const char *stem, const char *task, const hx_plot_series *arms, size_t n_arms,
                     const hx_plot_series *ref_arms, size_t n_ref_arms, const char *baselines_dir,
                     const hx_plot_refs *refs, unsigned formats)
{
    char ref[4096], data[4096], ours[4096], out[4096], buf[2][32];
    if (!stem) stem = "accuracy_vs_tokens";
    HX_TRY(figure_paths(out_dir, stem, data, out, sizeof data));
    snprintf(ref, sizeof ref, "%s/accuracy_reference.tsv", out_dir);
    snprintf(data, sizeof data, "%s/%s_arms.tsv", out_dir, stem);
    snprintf(ours, sizeof ours, "%s/%s_ref_arms.tsv", out_dir, stem);
    HX_TRY(reference_tsv(baselines_dir, ref));
    hx_plot_var v[8] = {{"ref", ref, 1}};
    size_t nv = 1;
    if (n_arms > 0) {
        HX_TRY(hx_plot_write_series_tsv(data, "accuracy", arms, n_arms));
        v[nv++] = (hx_plot_var){"data", data, 1};
        v[nv++] = (hx_plot_var){"task", task ? task : "mini task", 0};
        ref_vars(refs, v, &nv, buf);
    }
    if (n_ref_arms > 0) {
        HX_TRY(hx_plot_write_series_tsv(ours, "accuracy", ref_arms, n_ref_arms));
        v[nv++] = (hx_plot_var){"ours_ref", ours, 1};
    }
    return hx_plot_render("accuracy_vs_tokens", v, nv, out, formats);
}

int hx_plot_importance_heads(const char *out_dir, const char *stem, const char *title, const float *scores,
                             size_t n_layers, size_t n_heads, unsigned formats)
{
    char tsv[4096], out[4096];
    HX_TRY(figure_paths(out_dir, stem, tsv, out, sizeof tsv));
    HX_TRY(hx_plot_write_matrix_tsv(tsv, scores, n_layers, n_heads));
    hx_plot_var v[] = {{"data", tsv, 1}, {"title", title, 0}};
    return hx_plot_render("importance_heads", v, title ? 2 : 1, out, formats);
}

int hx_plot_importance_layers(const char *out_dir, const char *stem, const char *title,
                              const char *const *names, const double *const *scores, size_t n_kinds,
                              size_t n_layers, unsigned formats)
{
    char tsv[4096], out[4096];
    HX_TRY(figure_paths(out_dir, stem, tsv, out, sizeof tsv));
    HX_TRY(hx_plot_write_columns_tsv(tsv, "layer", names, scores, n_kinds, n_layers));
    hx_plot_var v[] = {{"data", tsv, 1}, {"title", title, 0}};
    return hx_plot_render("importance_layers", v, title ? 2 : 1, out, formats);
}

int hx_plot_ablation(const char *out_dir, const char *stem, const char *title, const char *ylabel,
                     const char *const *labels, const double *values, const double *errors, size_t n,
                     unsigned formats)
{
    char tsv[4096], out[4096];
    HX_TRY(figure_paths(out_dir, stem, tsv, out, sizeof tsv));
    HX_TRY(hx_plot_write_bars_tsv(tsv, labels, values, errors, n));
    hx_plot_var v[3] = {{"data", tsv, 1}};
    size_t nv = 1;
    if (ylabel) v[nv++] = (hx_plot_var){"ylabel_text", ylabel, 0};
    if (title) v[nv++] = (hx_plot_var){"title", title, 0};
    return hx_plot_render("ablation_bars", v, nv, out, formats);
}

int hx_plot_reference_panel(const char *baselines_dir, const char *out_dir)
{
    char tsv[4096], out[4096];
    HX_TRY(figure_paths(out_dir, "reference_mmlu_vs_tokens", tsv, out, sizeof tsv));
    HX_TRY(reference_tsv(baselines_dir, tsv));
    hx_plot_var v[] = {{"ref", tsv, 1},
                       {"title", "[M-NIPS] Fig. 1 redrawn from baselines/: MMLU (5-shot) vs training tokens", 0}};
    return hx_plot_render("accuracy_vs_tokens", v, 2, out, HX_PLOT_ALL);
}
