/* The YAML-to-struct binder of bind.h: pooled allocations, position marks,
 * typed scalars, sections, lists, defaults, sweep axes and the key walk, all
 * driven by field tables. */
#include "exp/bind.h"

#include "core/err.h"
#include "core/parse.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ allocations */

void *hx_bind_palloc(hx_bind_priv *p, size_t bytes)
{
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        void **np = realloc(p->ptrs, (size_t)cap * sizeof *np);
        if (!np) return NULL;
        p->ptrs = np;
        p->cap = cap;
    }
    void *q = hx_calloc(1, bytes);
    if (q) p->ptrs[p->n++] = q;
    return q;
}

char *hx_bind_pstrndup(hx_bind_priv *p, const char *s, size_t n)
{
    char *q = hx_bind_palloc(p, n + 1);
    if (q) memcpy(q, s, n);
    return q;
}

char *hx_bind_pstrdup(hx_bind_priv *p, const char *s) { return hx_bind_pstrndup(p, s, strlen(s)); }

void hx_bind_priv_free(hx_bind_priv *pv)
{
    if (pv) {
        for (int i = 0; i < pv->n; i++) free(pv->ptrs[i]);
        free(pv->ptrs);
        free(pv->root_marks.v);
        free(pv);
    }
}

int hx_bind_marks_add(hx_bind_marks *ms, const char *path, const char *disp, int line, int col, int top)
{
    if (ms->n == ms->cap) {
        int cap = ms->cap ? 2 * ms->cap : 32;
        hx_bind_mark *nv = realloc(ms->v, (size_t)cap * sizeof *nv);
        if (!nv) return HX_ERR(HX_ENOMEM, "out of memory recording manifest positions");
        ms->v = nv;
        ms->cap = cap;
    }
    hx_bind_mark *k = &ms->v[ms->n++];
    snprintf(k->path, sizeof k->path, "%s", path);
    snprintf(k->disp, sizeof k->disp, "%s", disp);
    k->line = line;
    k->col = col;
    k->top = top;
    return HX_OK;
}

const hx_bind_mark *hx_bind_marks_find(const hx_bind_marks *ms, const char *path)
{
    if (!ms) return NULL;
    for (int i = ms->n - 1; i >= 0; i--)
        if (!strcmp(ms->v[i].path, path)) return &ms->v[i];
    return NULL;
}

/* ---------------------------------------------------------------- parsing */

yaml_node_t *hx_bind_node_at(hx_bind_ctx *c, int id) { return yaml_document_get_node(c->doc, id); }

int hx_bind_node_line(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }
int hx_bind_node_col(const yaml_node_t *n) { return (int)n->start_mark.column + 1; }

/* "<file>:<line>:<col>: <path>: <message>" */
int hx_bind_perr(hx_bind_ctx *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return HX_ERR(HX_EINVAL, "%s:%d:%d: %s: %s", c->file, hx_bind_node_line(n), hx_bind_node_col(n), path, msg);
}

static const char *scalar(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

int hx_bind_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *s = scalar(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

const char *hx_bind_node_kind_name(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a scalar";
}

static void closest_key(const hx_bind_table *t, const char *key, const char **best, int *bestd)
{
    for (int i = 0; i < t->n; i++) {
        if (t->f[i].k == K_INLINE) {
            closest_key(t->f[i].sub, key, best, bestd);
            continue;
        }
        int d = hx_edit_distance(key, t->f[i].key);
        if (strstr(t->f[i].key, key) || strstr(key, t->f[i].key)) d = d < 3 ? d : 3;
        if (d < *bestd) {
            *bestd = d;
            *best = t->f[i].key;
        }
    }
}

/* Finds `key` in `t`, looking through inlined tables; *base is advanced to
 * the inlined struct. */
static const hx_bind_field *lookup(const hx_bind_table *t, const char *key, size_t klen, char **base)
{
    for (int i = 0; i < t->n; i++) {
        const hx_bind_field *f = &t->f[i];
        if (f->k == K_INLINE) {
            char *b = *base ? *base + f->off : NULL;
            const hx_bind_field *g = lookup(f->sub, key, klen, &b);
            if (g) {
                *base = b;
                return g;
            }
        } else if (strlen(f->key) == klen && !strncmp(f->key, key, klen)) {
            return f;
        }
    }
    return NULL;
}

const hx_bind_field *hx_bind_field_by_key(const hx_bind_table *t, const char *key)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->f[i].key, key)) return &t->f[i];
    return NULL;
}

static int unknown_key(hx_bind_ctx *c, const yaml_node_t *kn, const hx_bind_table *t, const char *path)
{
    const char *best = NULL;
    int bestd = 99;
    closest_key(t, scalar(kn), &best, &bestd);
    size_t len = strlen(scalar(kn));
    if (best && bestd <= (len < 6 ? 2 : (int)len / 3 + 1))
        return hx_bind_perr(c, kn, path, "unknown key '%s' (did you mean '%s'?)", scalar(kn), best);
    return hx_bind_perr(c, kn, path, "unknown key '%s'", scalar(kn));
}

/* Expands ${VAR} and ${VAR:-default} from the environment. */
static int expand_env(hx_bind_ctx *c, const yaml_node_t *n, const char *path, const char *s, const char **out)
{
    if (!strstr(s, "${")) {
        *out = hx_bind_pstrdup(c->pv, s);
        return *out ? HX_OK : HX_ENOMEM;
    }
    char buf[4096], var[256]; /* var outlives the loop body: a default points into it */
    size_t o = 0;
    while (*s) {
        const char *piece = s;
        size_t plen = 1;
        if (s[0] == '$' && s[1] == '{') {
            const char *end = strchr(s, '}');
            if (!end) return hx_bind_perr(c, n, path, "unterminated ${ in \"%s\"", scalar(n));
            size_t vl = (size_t)(end - s - 2);
            if (vl >= sizeof var) return hx_bind_perr(c, n, path, "variable name too long");
            memcpy(var, s + 2, vl);
            var[vl] = '\0';
            char *dflt = strstr(var, ":-");
            if (dflt) *dflt = '\0', dflt += 2;
            const char *val = getenv(var);
            if (!val || !*val) val = dflt;
            if (!val)
                return hx_bind_perr(c, n, path,
                                    "environment variable %s is not set (write ${%s:-default} to give a default)",
                                    var, var);
            piece = val;
            plen = strlen(val);
            s = end + 1;
        } else {
            s++;
        }
        if (o + plen >= sizeof buf) return hx_bind_perr(c, n, path, "value too long after expanding variables");
        memcpy(buf + o, piece, plen);
        o += plen;
    }
    *out = hx_bind_pstrndup(c->pv, buf, o);
    return *out ? HX_OK : HX_ENOMEM;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const t[] = {"true", "True", "TRUE", "yes", "Yes", "on", "On", NULL};
    static const char *const f[] = {"false", "False", "FALSE", "no", "No", "off", "Off", NULL};
    for (int i = 0; t[i]; i++)
        if (!strcmp(s, t[i])) return *out = 1, 0;
    for (int i = 0; f[i]; i++)
        if (!strcmp(s, f[i])) return *out = 0, 0;
    return -1;
}

static void enum_list(const char *const *names, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; names[i] && o < n; i++) o += (size_t)snprintf(buf + o, n - o, "%s%s", i ? "|" : "", names[i]);
}

static const char *expect_number(const hx_bind_field *f)
{
    int integral = f->k == K_INT || f->k == K_COUNT || f->k == K_SEED || f->k == K_INTLIST;
    if (!(f->lo < f->hi)) return integral ? "an integer" : "a number";
    if (integral) return f->lo >= 1 ? "a positive integer" : f->lo == 0 ? "a non-negative integer" : "an integer";
    return f->lo == 0 ? (f->lo_open ? "a positive number" : "a non-negative number") : "a number";
}

static int check_range(hx_bind_ctx *c, const yaml_node_t *n, const char *path, const hx_bind_field *f, double v)
{
    if (!(f->lo < f->hi)) return HX_OK;
    if (v < f->lo || (f->lo_open && v == f->lo) || v > f->hi) {
        if (f->hi >= INF)
            return hx_bind_perr(c, n, path, "expected %s, got %s", expect_number(f), scalar(n));
        return hx_bind_perr(c, n, path, "expected a value in %s%g, %g], got %s", f->lo_open ? "(" : "[", f->lo,
                            f->hi, scalar(n));
    }
    return HX_OK;
}

static void store_ptr(char *dst, const void *p) { memcpy(dst, &p, sizeof p); }
void *hx_bind_load_ptr(const char *src)
{
    void *p;
    memcpy(&p, src, sizeof p);
    return p;
}

/* Sets one scalar-typed value (n is a scalar node). `path` is for messages. */
static int apply_scalar(hx_bind_ctx *c, const hx_bind_field *f, char *dst, const yaml_node_t *n, const char *path)
{
    if (n->type != YAML_SCALAR_NODE)
        return hx_bind_perr(c, n, path, "expected a scalar, got %s", hx_bind_node_kind_name(n));
    const char *s = scalar(n);
    char opts[160];
    switch (f->k) {
    case K_INT: case K_COUNT: case K_INTLIST: {
        int64_t v;
        int bad = f->k == K_COUNT ? hx_parse_count(s, &v) : 0;
        if (f->k != K_COUNT) {
            char *end;
            errno = 0;
            long long iv = strtoll(s, &end, 10);
            bad = end == s || *end || errno || iv < INT_MIN || iv > INT_MAX;
            v = iv;
        }
        if (bad) return hx_bind_perr(c, n, path, "expected %s, got \"%s\"", expect_number(f), s);
        HX_TRY(check_range(c, n, path, f, (double)v));
        if (f->k == K_COUNT)
            memcpy(dst, &v, sizeof v);
        else {
            int iv = (int)v;
            memcpy(dst, &iv, sizeof iv);
        }
        return HX_OK;
    }
    case K_SEED: {
        uint64_t u;
        if (hx_parse_u64(s, &u)) return hx_bind_perr(c, n, path, "expected a non-negative integer, got \"%s\"", s);
        memcpy(dst, &u, sizeof u);
        return HX_OK;
    }
    case K_DOUBLE: case K_FLOAT: {
        double v;
        if (hx_parse_double(s, &v)) return hx_bind_perr(c, n, path, "expected %s, got \"%s\"", expect_number(f), s);
        HX_TRY(check_range(c, n, path, f, v));
        if (f->k == K_FLOAT) {
            float fv = (float)v;
            memcpy(dst, &fv, sizeof fv);
        } else {
            memcpy(dst, &v, sizeof v);
        }
        return HX_OK;
    }
    case K_BOOL: {
        int v;
        if (parse_bool(s, &v)) return hx_bind_perr(c, n, path, "expected true or false, got \"%s\"", s);
        memcpy(dst, &v, sizeof v);
        return HX_OK;
    }
    case K_ENUM: case K_CSTR: {
        int i = hx_parse_enum(f->names, s);
        if (i < 0) {
            enum_list(f->names, opts, sizeof opts);
            return hx_bind_perr(c, n, path, "expected one of %s, got \"%s\"", opts, s);
        }
        if (f->k == K_ENUM)
            memcpy(dst, &i, sizeof i);
        else
            snprintf(dst, f->elem_size, "%s", s);
        return HX_OK;
    }
    case K_STR: case K_STRLIST: {
        const char *v;
        HX_TRY(expand_env(c, n, path, s, &v));
        if (!*v) return hx_bind_perr(c, n, path, "expected a non-empty string");
        store_ptr(dst, v);
        return HX_OK;
    }
    default: return hx_bind_perr(c, n, path, "internal: not a scalar field");
    }
}

int hx_bind_apply_field(hx_bind_ctx *c, const hx_bind_field *f, char *base, const yaml_node_t *n)
{
    const char *path = c->disp;
    HX_TRY(hx_bind_marks_add(c->ms, c->disp + c->rel, c->disp, hx_bind_node_line(n), hx_bind_node_col(n), c->top));
    switch (f->k) {
    case K_SECTION:
        if (hx_bind_is_null(n)) return HX_OK;
        return hx_bind_apply_mapping(c, f->sub, base + f->off, n);
    case K_STRLIST: case K_INTLIST: {
        size_t esz = f->k == K_STRLIST ? sizeof(char *) : sizeof(int);
        int count = n->type == YAML_SEQUENCE_NODE ? (int)(n->data.sequence.items.top - n->data.sequence.items.start)
                                                  : 1;
        if (n->type == YAML_MAPPING_NODE) return hx_bind_perr(c, n, path, "expected a list, got a mapping");
        char *arr = hx_bind_palloc(c->pv, esz * (size_t)(count ? count : 1));
        if (!arr) return HX_ENOMEM;
        for (int i = 0; i < count; i++) {
            const yaml_node_t *item =
                n->type == YAML_SEQUENCE_NODE ? hx_bind_node_at(c, n->data.sequence.items.start[i]) : n;
            char ipath[300];
            snprintf(ipath, sizeof ipath, "%s[%d]", path, i);
            HX_TRY(apply_scalar(c, f, arr + esz * (size_t)i, item, n->type == YAML_SEQUENCE_NODE ? ipath : path));
        }
        store_ptr(base + f->off, arr);
        memcpy(base + f->off_n, &count, sizeof count);
        return HX_OK;
    }
    case K_LIST: {
        if (!hx_bind_is_null(n) && n->type != YAML_SEQUENCE_NODE)
            return hx_bind_perr(c, n, path, "expected a list, got %s", hx_bind_node_kind_name(n));
        int count = hx_bind_is_null(n) ? 0 : (int)(n->data.sequence.items.top - n->data.sequence.items.start);
        char *arr = hx_bind_palloc(c->pv, f->elem_size * (size_t)(count ? count : 1));
        if (!arr) return HX_ENOMEM;
        size_t saved = strlen(c->disp);
        for (int i = 0; i < count; i++) {
            snprintf(c->disp + saved, sizeof c->disp - saved, "[%d]", i);
            HX_TRY(hx_bind_apply_mapping(c, f->sub, arr + f->elem_size * (size_t)i,
                                         hx_bind_node_at(c, n->data.sequence.items.start[i])));
        }
        c->disp[saved] = '\0';
        store_ptr(base + f->off, arr);
        memcpy(base + f->off_n, &count, sizeof count);
        return HX_OK;
    }
    default: return apply_scalar(c, f, base + f->off, n, path);
    }
}

void hx_bind_apply_defaults(const hx_bind_table *t, char *base)
{
    for (int i = 0; i < t->n; i++) {
        const hx_bind_field *f = &t->f[i];
        char *dst = base + f->off;
        switch (f->k) {
        case K_SECTION: case K_INLINE: hx_bind_apply_defaults(f->sub, dst); break;
        case K_INT: case K_ENUM: case K_BOOL: {
            int v = 0;
            if (f->def) v = f->k == K_ENUM ? hx_parse_enum(f->names, f->def)
                           : f->k == K_BOOL ? !strcmp(f->def, "true") : atoi(f->def);
            memcpy(dst, &v, sizeof v);
            break;
        }
        case K_COUNT: {
            int64_t v = 0;
            if (f->def) hx_parse_count(f->def, &v);
            memcpy(dst, &v, sizeof v);
            break;
        }
        case K_SEED: {
            uint64_t v = f->def ? strtoull(f->def, NULL, 10) : 0;
            memcpy(dst, &v, sizeof v);
            break;
        }
        case K_DOUBLE: {
            double v = f->def ? strtod(f->def, NULL) : 0;
            memcpy(dst, &v, sizeof v);
            break;
        }
        case K_FLOAT: {
            float v = f->def ? strtof(f->def, NULL) : 0;
            memcpy(dst, &v, sizeof v);
            break;
        }
        case K_CSTR: snprintf(dst, f->elem_size, "%s", f->def ? f->def : ""); break;
        case K_STR: store_ptr(dst, f->def); break;
        case K_STRLIST: case K_INTLIST: case K_LIST: {
            int zero = 0;
            store_ptr(dst, NULL);
            memcpy(base + f->off_n, &zero, sizeof zero);
            break;
        }
        case K_DEFER: break;
        }
    }
}

int hx_bind_apply_mapping(hx_bind_ctx *c, const hx_bind_table *t, char *base, const yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE)
        return hx_bind_perr(c, n, c->disp[0] ? c->disp : "(top level)", "expected a mapping, got %s%s%s%s",
                            hx_bind_node_kind_name(n), n->type == YAML_SCALAR_NODE ? " \"" : "",
                            n->type == YAML_SCALAR_NODE ? scalar(n) : "", n->type == YAML_SCALAR_NODE ? "\"" : "");
    size_t saved = strlen(c->disp);
    int rc = HX_OK;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top && rc >= 0; p++) {
        yaml_node_t *kn = hx_bind_node_at(c, p->key), *vn = hx_bind_node_at(c, p->value);
        if (kn->type != YAML_SCALAR_NODE) {
            rc = hx_bind_perr(c, kn, c->disp[0] ? c->disp : "(top level)", "keys must be scalars");
            break;
        }
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++)
            if (!strcmp(scalar(hx_bind_node_at(c, q->key)), scalar(kn))) {
                snprintf(c->disp + saved, sizeof c->disp - saved, "%s%s", saved ? "." : "", scalar(kn));
                rc = hx_bind_perr(c, kn, c->disp, "duplicate key (first given on line %d)",
                                  hx_bind_node_line(hx_bind_node_at(c, q->key)));
                break;
            }
        if (rc < 0) break;
        char *b = base;
        const hx_bind_field *f = lookup(t, scalar(kn), strlen(scalar(kn)), &b);
        if (!f) {
            rc = unknown_key(c, kn, t, c->disp[0] ? c->disp : "(top level)");
            break;
        }
        if (f->k == K_DEFER) continue;
        snprintf(c->disp + saved, sizeof c->disp - saved, "%s%s", saved ? "." : "", f->key);
        rc = hx_bind_apply_field(c, f, b, vn);
        c->disp[saved] = '\0';
    }
    if (rc < 0) {
        c->disp[saved] = '\0';
        return rc;
    }
    for (int i = 0; i < t->n; i++) {
        if (!t->f[i].required || t->f[i].k == K_DEFER) continue;
        int found = 0;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
            found |= !strcmp(scalar(hx_bind_node_at(c, p->key)), t->f[i].key);
        if (!found)
            return hx_bind_perr(c, n, c->disp[0] ? c->disp : "(top level)", "missing required key '%s'", t->f[i].key);
    }
    return HX_OK;
}

yaml_node_t *hx_bind_map_get(hx_bind_ctx *c, const yaml_node_t *n, const char *key)
{
    if (!n || n->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = hx_bind_node_at(c, p->key);
        if (kn->type == YAML_SCALAR_NODE && !strcmp(scalar(kn), key)) return hx_bind_node_at(c, p->value);
    }
    return NULL;
}

/* ---------------------------------------------------------------- sweeps */

void hx_bind_render(hx_bind_ctx *c, const yaml_node_t *n, char *buf, size_t cap)
{
    size_t o = strlen(buf);
    if (o >= cap - 1) return;
    if (n->type == YAML_SCALAR_NODE) {
        snprintf(buf + o, cap - o, "%s", scalar(n));
    } else if (n->type == YAML_SEQUENCE_NODE) {
        snprintf(buf + o, cap - o, "[");
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
            if (it != n->data.sequence.items.start) strncat(buf, ",", cap - strlen(buf) - 1);
            hx_bind_render(c, hx_bind_node_at(c, *it), buf, cap);
        }
        strncat(buf, "]", cap - strlen(buf) - 1);
    } else {
        snprintf(buf + o, cap - o, "{");
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            if (p != n->data.mapping.pairs.start) strncat(buf, ",", cap - strlen(buf) - 1);
            hx_bind_render(c, hx_bind_node_at(c, p->key), buf, cap);
            strncat(buf, ":", cap - strlen(buf) - 1);
            hx_bind_render(c, hx_bind_node_at(c, p->value), buf, cap);
        }
        strncat(buf, "}", cap - strlen(buf) - 1);
    }
}

int hx_bind_collect_sweep(hx_bind_ctx *c, const yaml_node_t *sn, const char *where, hx_bind_sweep_axis *ax, int *nax,
                          int max)
{
    if (!sn || hx_bind_is_null(sn)) return HX_OK;
    if (sn->type != YAML_MAPPING_NODE)
        return hx_bind_perr(c, sn, where, "expected a mapping of field paths to lists of values, got %s",
                            hx_bind_node_kind_name(sn));
    for (yaml_node_pair_t *p = sn->data.mapping.pairs.start; p < sn->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = hx_bind_node_at(c, p->key), *vn = hx_bind_node_at(c, p->value);
        char path[300];
        snprintf(path, sizeof path, "%s.%s", where, kn->type == YAML_SCALAR_NODE ? scalar(kn) : "?");
        if (kn->type != YAML_SCALAR_NODE || strlen(scalar(kn)) >= sizeof ax->path)
            return hx_bind_perr(c, kn, where, "sweep keys must be field paths such as kd.temperature");
        if (vn->type != YAML_SEQUENCE_NODE || vn->data.sequence.items.top == vn->data.sequence.items.start)
            return hx_bind_perr(c, vn, path, "expected a non-empty list of values to sweep over");
        int slot = *nax;
        for (int i = 0; i < *nax; i++)
            if (!strcmp(ax[i].path, scalar(kn))) slot = i;
        if (slot == *nax) {
            if (*nax == max) return hx_bind_perr(c, kn, path, "too many sweep axes (at most %d)", max);
            (*nax)++;
        }
        snprintf(ax[slot].path, sizeof ax[slot].path, "%s", scalar(kn));
        snprintf(ax[slot].where, sizeof ax[slot].where, "%s", where);
        ax[slot].values = vn;
        ax[slot].key = kn;
    }
    return HX_OK;
}

int hx_bind_resolve_path(hx_bind_ctx *c, const hx_bind_table *arm, const hx_bind_sweep_axis *a, char *arm_base,
                         const hx_bind_field **out, char **base)
{
    const hx_bind_table *t = arm;
    char *b = arm_base;
    const char *s = a->path;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        const hx_bind_field *f = lookup(t, s, len, &b);
        if (!f) {
            char key[96];
            snprintf(key, sizeof key, "%.*s", (int)len, s);
            const char *best = NULL;
            int bestd = 99;
            closest_key(t, key, &best, &bestd);
            return hx_bind_perr(c, a->key, "sweep", "'%s' is not an arm field%s%s%s", a->path,
                                best && bestd <= 3 ? " ('" : "", best && bestd <= 3 ? best : "",
                                best && bestd <= 3 ? "'?)" : "");
        }
        if (!dot) {
            if (f->k == K_DEFER || !strcmp(f->key, "name") || !strcmp(f->key, "kind"))
                return hx_bind_perr(c, a->key, "sweep", "'%s' cannot be swept", a->path);
            *out = f;
            *base = b;
            return HX_OK;
        }
        if (f->k != K_SECTION) return hx_bind_perr(c, a->key, "sweep", "'%.*s' has no sub-fields", (int)len, s);
        b += f->off;
        t = f->sub;
        s = dot + 1;
    }
}

/* ------------------------------------------------------------- key list */

int hx_bind_key_walk(const hx_bind_table *t, const hx_bind_table *list, const char *prefix, int *i, int want,
                     char *out, size_t cap)
{
    for (int j = 0; j < t->n; j++) {
        const hx_bind_field *f = &t->f[j];
        char p[256];
        if (f->k == K_INLINE) {
            if (hx_bind_key_walk(f->sub, list, prefix, i, want, out, cap)) return 1;
            continue;
        }
        snprintf(p, sizeof p, "%s%s%s", prefix, *prefix ? "." : "", f->key);
        if (f->k == K_DEFER && f->sub) {
            if (f->sub == list) strncat(p, "[]", sizeof p - strlen(p) - 1);
            if (hx_bind_key_walk(f->sub, list, p, i, want, out, cap)) return 1;
            continue;
        }
        if ((*i)++ == want) {
            snprintf(out, cap, "%s", p);
            return 1;
        }
        if (f->k == K_SECTION || f->k == K_LIST) {
            if (f->k == K_LIST) strncat(p, "[]", sizeof p - strlen(p) - 1);
            if (hx_bind_key_walk(f->sub, list, p, i, want, out, cap)) return 1;
        }
    }
    return 0;
}
