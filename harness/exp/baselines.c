/* Published baselines: CSV reader, per-file checks (every row sourced), and the
 * scores x models join for the accuracy-vs-training-tokens reference figure. */
#include "exp/baselines.h"

#include "core/err.h"
#include "core/util.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Growable array of char* used while parsing. */
typedef struct {
    char **v;
    size_t n, cap;
} strvec;

static int strvec_push(strvec *s, char *x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) return HX_ERR(HX_ENOMEM, "out of memory growing a CSV table");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return HX_OK;
}

void hx_csv_free(hx_csv *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_cols; i++) free(t->header ? t->header[i] : NULL);
    for (size_t i = 0; t->cells && i < t->n_rows * t->n_cols; i++) free(t->cells[i]);
    free(t->header);
    free(t->cells);
    free(t->lines);
    free(t->path);
    memset(t, 0, sizeof *t);
}

/* Parses one record starting at *p (line number *line); pushes its fields onto `fields` and
 * advances *p past the record's line end. Sets *count to the number of fields. */
static int parse_record(const char *path, const char **p, size_t *line, strvec *fields, size_t *count)
{
    const char *s = *p;
    size_t start_line = *line, n = 0;
    for (;;) {
        size_t cap = 16, len = 0;
        char *f = malloc(cap);
        if (!f) return HX_ERR(HX_ENOMEM, "out of memory reading %s", path);
        int quoted = (*s == '"');
        if (quoted) s++;
        for (;;) {
            char c = *s;
            if (quoted) {
                if (c == '\0') {
                    free(f);
                    return HX_ERR(HX_EFORMAT, "%s:%zu: unterminated quoted field", path, start_line);
                }
                if (c == '"') {
                    if (s[1] == '"') s++;
                    else {
                        s++;
                        quoted = 0;
                        continue;
                    }
                } else if (c == '\n') (*line)++;
            } else if (c == ',' || c == '\n' || c == '\r' || c == '\0') break;
            if (len + 2 > cap) {
                char *g = realloc(f, cap *= 2);
                if (!g) {
                    free(f);
                    return HX_ERR(HX_ENOMEM, "out of memory reading %s", path);
                }
                f = g;
            }
            f[len++] = *s++;
        }
        f[len] = '\0';
        int rc = strvec_push(fields, f);
        if (rc < 0) {
            free(f);
            return rc;
        }
        n++;
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\r') s++;
        if (*s == '\n') {
            s++;
            (*line)++;
        }
        break;
    }
    *p = s;
    *count = n;
    return HX_OK;
}

int hx_csv_read(const char *path, hx_csv *t)
{
    memset(t, 0, sizeof *t);
    char *text = NULL;
    size_t len = 0;
    HX_TRY(hx_read_file(path, &text, &len));
    strvec fields = {0};
    size_t *lines = NULL, lines_cap = 0, n_rec = 0, line = 1;
    int rc = HX_OK;
    const char *p = text;
    while (*p) {
        if (*p == '\n' || (*p == '\r' && p[1] == '\n')) { /* blank line */
            p += (*p == '\r') ? 2 : 1;
            line++;
            continue;
        }
        size_t rec_line = line, count = 0;
        if ((rc = parse_record(path, &p, &line, &fields, &count)) < 0) goto fail;
        if (n_rec == 0) t->n_cols = count;
        else if (count != t->n_cols) {
            rc = HX_ERR(HX_EFORMAT, "%s:%zu: %zu fields, but the header has %zu", path, rec_line, count,
                        t->n_cols);
            goto fail;
        }
        if (n_rec == lines_cap) {
            lines_cap = lines_cap ? 2 * lines_cap : 64;
            size_t *l = realloc(lines, lines_cap * sizeof *l);
            if (!l) {
                rc = HX_ERR(HX_ENOMEM, "out of memory reading %s", path);
                goto fail;
            }
            lines = l;
        }
        lines[n_rec++] = rec_line;
    }
    if (n_rec == 0) {
        rc = HX_ERR(HX_EFORMAT, "%s: empty file (no header row)", path);
        goto fail;
    }
    free(text);
    t->n_rows = n_rec - 1;
    t->header = hx_malloc(t->n_cols * sizeof *t->header);
    t->cells = hx_malloc((t->n_rows * t->n_cols + 1) * sizeof *t->cells);
    t->lines = hx_malloc((t->n_rows + 1) * sizeof *t->lines);
    t->path = strdup(path);
    if (!t->header || !t->cells || !t->lines || !t->path) {
        for (size_t i = 0; i < fields.n; i++) free(fields.v[i]);
        free(fields.v);
        free(lines);
        t->n_cols = t->n_rows = 0;
        hx_csv_free(t);
        return HX_ERR(HX_ENOMEM, "out of memory reading %s", path);
    }
    memcpy(t->header, fields.v, t->n_cols * sizeof *t->header);
    memcpy(t->cells, fields.v + t->n_cols, t->n_rows * t->n_cols * sizeof *t->cells);
    memcpy(t->lines, lines + 1, t->n_rows * sizeof *t->lines);
    free(fields.v);
    free(lines);
    return HX_OK;
fail:
    for (size_t i = 0; i < fields.n; i++) free(fields.v[i]);
    free(fields.v);
    free(lines);
    free(text);
    memset(t, 0, sizeof *t);
    return rc;
}

int hx_csv_col(const hx_csv *t, const char *name)
{
    for (size_t i = 0; i < t->n_cols; i++)
        if (!strcmp(t->header[i], name)) return (int)i;
    return -1;
}

const char *hx_csv_cell(const hx_csv *t, size_t row, int col)
{
    return t->cells[row * t->n_cols + (size_t)col];
}

int hx_csv_number(const char *cell, double *out)
{
    if (!cell || !*cell) return 0;
    char *end = NULL;
    double v = strtod(cell, &end);
    if (end == cell || *end != '\0' || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

/* The files of the baselines set, checked by hx_baselines_check. */
static const char *const baseline_files[] = {"models.csv", "scores.csv", "pruning_methods.csv",
                                             "ablations.csv"};
/* Columns that, where present, must hold numbers (or be empty). */
static const char *const numeric_cols[] = {"params", "nonemb_params", "train_tokens", "shots", "value",
                                           "tokens"};

static int open_baseline(const char *dir, const char *file, hx_csv *t)
{
    char *path = hx_path_join(dir, file);
    if (!path) return HX_ERR(HX_ENOMEM, "out of memory");
    int rc = hx_csv_read(path, t);
    free(path);
    return rc < 0 ? hx_adderr(rc, "baselines") : rc;
}

static int check_one(const hx_csv *t)
{
    int src = hx_csv_col(t, "source");
    if (src < 0) return HX_ERR(HX_EFORMAT, "%s: no 'source' column", t->path);
    if (t->n_rows == 0) return HX_ERR(HX_EFORMAT, "%s: no data rows", t->path);
    for (size_t r = 0; r < t->n_rows; r++) {
        if (!*hx_csv_cell(t, r, src))
            return HX_ERR(HX_EFORMAT, "%s:%zu: empty 'source' (every number needs one)", t->path, t->lines[r]);
        for (size_t k = 0; k < sizeof numeric_cols / sizeof *numeric_cols; k++) {
            int c = hx_csv_col(t, numeric_cols[k]);
            if (c < 0) continue;
            const char *cell = hx_csv_cell(t, r, c);
            double v;
            if (*cell && !hx_csv_number(cell, &v))
                return HX_ERR(HX_EFORMAT, "%s:%zu: column '%s' holds '%s', not a number", t->path,
                              t->lines[r], numeric_cols[k], cell);
        }
    }
    return HX_OK;
}

int hx_baselines_check(const char *dir)
{
    for (size_t i = 0; i < sizeof baseline_files / sizeof *baseline_files; i++) {
        hx_csv t;
        HX_TRY(open_baseline(dir, baseline_files[i], &t));
        int rc = check_one(&t);
        hx_csv_free(&t);
        HX_TRY(rc);
    }
    return HX_OK;
}

static int group_rank(const char *g)
{
    return !strcmp(g, "minitron") ? 0 : !strcmp(g, "teacher") ? 1 : 2;
}

static int cmp_ref(const void *a, const void *b)
{
    const hx_ref_point *x = a, *y = b;
    int gx = group_rank(x->group), gy = group_rank(y->group);
    if (gx != gy) return gx - gy;
    if (x->tokens != y->tokens) return x->tokens < y->tokens ? -1 : 1;
    return strcmp(x->model, y->model);
}

static int copy_id(char *dst, size_t cap, const char *src, const char *path, size_t line)
{
    size_t n = strlen(src);
    if (n == 0 || n >= cap) return HX_ERR(HX_EFORMAT, "%s:%zu: model id '%s' is empty or too long", path, line, src);
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)src[i]))
            return HX_ERR(HX_EFORMAT, "%s:%zu: model id '%s' contains whitespace", path, line, src);
    memcpy(dst, src, n + 1);
    return HX_OK;
}

int hx_baselines_reference(const char *dir, const char *benchmark, int shots, hx_ref_point **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    hx_csv models, scores;
    HX_TRY(open_baseline(dir, "models.csv", &models));
    int rc = open_baseline(dir, "scores.csv", &scores);
    if (rc < 0) {
        hx_csv_free(&models);
        return rc;
    }
    int m_model = hx_csv_col(&models, "model"), m_role = hx_csv_col(&models, "role"),
        m_tok = hx_csv_col(&models, "train_tokens");
    int s_model = hx_csv_col(&scores, "model"), s_bench = hx_csv_col(&scores, "benchmark"),
        s_shots = hx_csv_col(&scores, "shots"), s_val = hx_csv_col(&scores, "value");
    hx_ref_point *pts = NULL;
    size_t np = 0;
    if (m_model < 0 || m_role < 0 || m_tok < 0 || s_model < 0 || s_bench < 0 || s_shots < 0 || s_val < 0) {
        rc = HX_ERR(HX_EFORMAT, "baselines: models.csv needs model, role, train_tokens; scores.csv needs "
                                "model, benchmark, shots, value");
        goto done;
    }
    pts = hx_calloc(scores.n_rows + 1, sizeof *pts);
    if (!pts) {
        rc = HX_ENOMEM;
        goto done;
    }
    for (size_t r = 0; r < scores.n_rows; r++) {
        double sh, val;
        if (strcmp(hx_csv_cell(&scores, r, s_bench), benchmark)) continue;
        if (!hx_csv_number(hx_csv_cell(&scores, r, s_shots), &sh) || (int)sh != shots) continue;
        const char *name = hx_csv_cell(&scores, r, s_model);
        int seen = 0;
        for (size_t i = 0; i < np && !seen; i++) seen = !strcmp(pts[i].model, name);
        if (seen) continue;
        if (!hx_csv_number(hx_csv_cell(&scores, r, s_val), &val)) {
            rc = HX_ERR(HX_EFORMAT, "%s:%zu: value is not a number", scores.path, scores.lines[r]);
            goto done;
        }
        size_t m = 0;
        while (m < models.n_rows && strcmp(hx_csv_cell(&models, m, m_model), name)) m++;
        if (m == models.n_rows) {
            rc = HX_ERR(HX_EFORMAT, "%s:%zu: model '%s' is not in models.csv", scores.path, scores.lines[r], name);
            goto done;
        }
        double tok;
        if (!hx_csv_number(hx_csv_cell(&models, m, m_tok), &tok)) continue; /* undisclosed */
        hx_ref_point *p = &pts[np];
        if ((rc = copy_id(p->model, sizeof p->model, name, scores.path, scores.lines[r])) < 0) goto done;
        if ((rc = copy_id(p->group, sizeof p->group, hx_csv_cell(&models, m, m_role), models.path,
                          models.lines[m])) < 0)
            goto done;
        p->tokens = tok;
        p->accuracy = val;
        np++;
    }
    if (np == 0) {
        rc = HX_ERR(HX_EINVAL, "baselines: no %s %d-shot scores with known training tokens", benchmark, shots);
        goto done;
    }
    qsort(pts, np, sizeof *pts, cmp_ref);
    *out = pts;
    *n = np;
    pts = NULL;
    rc = HX_OK;
done:
    free(pts);
    hx_csv_free(&models);
    hx_csv_free(&scores);
    return rc;
}
