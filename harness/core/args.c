/* The table-driven argument parser of bin/harness (core/args.h): parse,
 * usage and the resolved-settings table, all from one hx_arg table. */
#include "core/args.h"

#include "core/err.h"
#include "core/parse.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int is_positional(const hx_arg *a) { return a->kind == HX_ARG_POS || a->kind == HX_ARG_REST; }

static const char *meta_of(const hx_arg *a)
{
    if (a->meta) return a->meta;
    switch (a->kind) {
    case HX_ARG_INT:
    case HX_ARG_COUNT:
    case HX_ARG_U64: return "N";
    case HX_ARG_DOUBLE: return "X";
    case HX_ARG_INTS: return "N,N,...";
    case HX_ARG_FLAG: return "";
    default: return "VALUE";
    }
}

/* Ranges: both 0 means the type's whole range. */
static void int_range(const hx_arg *a, double tlo, double thi, int64_t *lo, int64_t *hi)
{
    int any = a->lo == 0 && a->hi == 0;
    *lo = (int64_t)(any ? tlo : a->lo);
    *hi = (int64_t)(any ? thi : a->hi);
}

/* Stores one option value; errors name the option (core/parse.h). */
static int store(hx_arg *a, const char *v)
{
    int64_t lo, hi;
    switch (a->kind) {
    case HX_ARG_STR:
    case HX_ARG_POS: *(const char **)a->dst = v; return HX_OK;
    case HX_ARG_STRS:
    case HX_ARG_REST: {
        hx_arg_strs *s = a->dst;
        if (s->n >= s->max) return HX_ERR(HX_EINVAL, "--%s: at most %d values", a->name, s->max);
        s->v[s->n++] = v;
        return HX_OK;
    }
    case HX_ARG_INT:
        int_range(a, -2147483647.0, 2147483647.0, &lo, &hi);
        return hx_opt_int(a->name, v, (int)lo, (int)hi, a->dst);
    case HX_ARG_COUNT:
        int_range(a, (double)INT64_MIN, 9.2e18, &lo, &hi);
        return hx_opt_i64(a->name, v, lo, hi, a->dst);
    case HX_ARG_U64: return hx_opt_u64(a->name, v, a->dst);
    case HX_ARG_DOUBLE:
        return hx_opt_double(a->name, v, a->lo == 0 && a->hi == 0 ? -INFINITY : a->lo,
                             a->lo == 0 && a->hi == 0 ? INFINITY : a->hi, a->dst);
    case HX_ARG_ENUM: return hx_opt_enum(a->name, v, a->names, a->dst);
    case HX_ARG_INTS: {
        hx_arg_ints *l = a->dst;
        int_range(a, -2147483647.0, 2147483647.0, &lo, &hi);
        return hx_opt_int_list(a->name, v, (int)lo, (int)hi, &l->v, &l->n);
    }
    case HX_ARG_FLAG: *(int *)a->dst = a->set; return HX_OK;
    }
    return HX_ERR(HX_EINVAL, "--%s: unknown argument kind", a->name);
}

static hx_arg *find_option(hx_cli *c, const char *name, size_t len)
{
    for (hx_arg *a = c->args; a->name; a++)
        if (!is_positional(a) && strlen(a->name) == len && !strncmp(a->name, name, len)) return a;
    return NULL;
}

static int unknown_option(hx_cli *c, const char *opt)
{
    const char *best = NULL;
    int bestd = 4;
    for (hx_arg *a = c->args; a->name; a++) {
        if (is_positional(a)) continue;
        int d = hx_edit_distance(opt, a->name);
        if (d < bestd) bestd = d, best = a->name;
    }
    if (best) return HX_ERR(HX_EINVAL, "unknown option --%s (did you mean --%s?)", opt, best);
    return HX_ERR(HX_EINVAL, "unknown option --%s", opt);
}

int hx_cli_fail(const hx_cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "harness %s: ", c->name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see harness %s --help)\n", c->name);
    return 2;
}

static int parse(hx_cli *c, int argc, char **argv)
{
    hx_arg *pos = c->args;
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!only_pos && !strcmp(s, "--")) {
            only_pos = 1;
            continue;
        }
        if (!only_pos && s[0] == '-' && s[1]) {
            if (s[1] != '-') return HX_ERR(HX_EINVAL, "unknown option %s (options are spelt --name)", s);
            const char *name = s + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            hx_arg *a = find_option(c, name, len);
            if (!a) {
                char buf[128];
                snprintf(buf, sizeof buf, "%.*s", (int)len, name);
                return unknown_option(c, buf);
            }
            if (a->kind == HX_ARG_FLAG) {
                if (eq) return HX_ERR(HX_EINVAL, "--%s takes no value (given '%s')", a->name, eq + 1);
                HX_TRY(store(a, NULL));
                continue;
            }
            const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!v) return HX_ERR(HX_EINVAL, "--%s needs a value (%s)", a->name, meta_of(a));
            HX_TRY(store(a, v));
            continue;
        }
        while (pos->name && !is_positional(pos)) pos++;
        if (!pos->name) return HX_ERR(HX_EINVAL, "unexpected argument '%s'", s);
        HX_TRY(store(pos, s));
        if (pos->kind == HX_ARG_POS) pos++;
    }
    for (hx_arg *a = c->args; a->name; a++) {
        if (!a->required) continue;
        int have = a->kind == HX_ARG_STRS || a->kind == HX_ARG_REST ? ((hx_arg_strs *)a->dst)->n > 0
                   : a->kind == HX_ARG_INTS                         ? ((hx_arg_ints *)a->dst)->n > 0
                   : a->kind == HX_ARG_STR || a->kind == HX_ARG_POS ? *(const char **)a->dst != NULL
                                                                    : 1;
        if (!have)
            return is_positional(a) ? HX_ERR(HX_EINVAL, "%s is required", a->name)
                                    : HX_ERR(HX_EINVAL, "--%s is required", a->name);
    }
    return HX_OK;
}

int hx_cli_parse(hx_cli *c, int argc, char **argv, int *exit_code)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            hx_cli_usage(c, stdout);
            *exit_code = 0;
            return 1;
        }
    if (parse(c, argc, argv) == HX_OK) return 0;
    *exit_code = hx_cli_fail(c, "%s", hx_errtext());
    hx_clearerr();
    return 1;
}

/* The value of *a->dst as text into buf; "" when unset. */
static const char *value_text(const hx_arg *a, char *buf, size_t n)
{
    buf[0] = 0;
    switch (a->kind) {
    case HX_ARG_STR:
    case HX_ARG_POS: {
        const char *s = *(const char **)a->dst;
        return s ? s : "";
    }
    case HX_ARG_STRS:
    case HX_ARG_REST: {
        const hx_arg_strs *s = a->dst;
        size_t o = 0;
        for (int i = 0; i < s->n && o < n; i++) o += (size_t)snprintf(buf + o, n - o, "%s%s", i ? " " : "", s->v[i]);
        return buf;
    }
    case HX_ARG_INTS: {
        const hx_arg_ints *l = a->dst;
        size_t o = 0;
        for (int i = 0; i < l->n && o < n; i++) o += (size_t)snprintf(buf + o, n - o, "%s%d", i ? "," : "", l->v[i]);
        return buf;
    }
    case HX_ARG_INT: snprintf(buf, n, "%d", *(const int *)a->dst); return buf;
    case HX_ARG_COUNT: snprintf(buf, n, "%" PRId64, *(const int64_t *)a->dst); return buf;
    case HX_ARG_U64: snprintf(buf, n, "%" PRIu64, *(const uint64_t *)a->dst); return buf;
    case HX_ARG_DOUBLE: snprintf(buf, n, "%g", *(const double *)a->dst); return buf;
    case HX_ARG_ENUM: return a->names[*(const int *)a->dst];
    case HX_ARG_FLAG: return *(const int *)a->dst == a->set ? "yes" : "no";
    }
    return buf;
}

/* Whether *dst holds something worth printing as a default. */
static int has_default(const hx_arg *a)
{
    switch (a->kind) {
    case HX_ARG_STR: return *(const char **)a->dst != NULL;
    case HX_ARG_INT:
    case HX_ARG_ENUM: return a->kind == HX_ARG_ENUM || *(const int *)a->dst != 0;
    case HX_ARG_COUNT: return *(const int64_t *)a->dst != 0;
    case HX_ARG_U64: return *(const uint64_t *)a->dst != 0;
    case HX_ARG_DOUBLE: return *(const double *)a->dst != 0;
    default: return 0;
    }
}

void hx_cli_usage(const hx_cli *c, FILE *out)
{
    fprintf(out, "usage: harness %s", c->name);
    for (const hx_arg *a = c->args; a->name; a++)
        if (a->required && !is_positional(a)) fprintf(out, " --%s %s", a->name, meta_of(a));
    fprintf(out, " [options]");
    for (const hx_arg *a = c->args; a->name; a++)
        if (is_positional(a))
            fprintf(out, a->required ? " %s%s" : " [%s%s]", a->name, a->kind == HX_ARG_REST ? "..." : "");
    fprintf(out, "\n%s\n", c->about);
    for (const hx_arg *a = c->args; a->name; a++) {
        char left[64], val[256];
        if (is_positional(a)) snprintf(left, sizeof left, "%s%s", a->name, a->kind == HX_ARG_REST ? "..." : "");
        else snprintf(left, sizeof left, "--%s %s", a->name, meta_of(a));
        fprintf(out, "  %-26s %s", left, a->help);
        if (a->kind == HX_ARG_ENUM) {
            fprintf(out, " (");
            for (int i = 0; a->names[i]; i++) fprintf(out, "%s%s", i ? "|" : "", a->names[i]);
            fprintf(out, ")");
        }
        if (has_default(a) && !strstr(a->help, "default")) fprintf(out, " (default %s)", value_text(a, val, sizeof val));
        if (a->kind == HX_ARG_STRS) fprintf(out, " (repeatable)");
        fprintf(out, "%s\n", a->required && !is_positional(a) ? " [required]" : "");
    }
    fprintf(out, "  %-26s %s\n", "--help", "this text");
}

void hx_cli_settings(const hx_cli *c, FILE *out)
{
    int w = 7;
    for (const hx_arg *a = c->args; a->name; a++) w = (int)strlen(a->name) > w ? (int)strlen(a->name) : w;
    fprintf(out, "harness %s settings:\n", c->name);
    for (const hx_arg *a = c->args; a->name; a++) {
        char buf[1024];
        const char *v = value_text(a, buf, sizeof buf);
        fprintf(out, "  %-*s  %s\n", w, a->name, *v ? v : "-");
    }
    fflush(out);
}

void hx_cli_free(hx_cli *c)
{
    for (hx_arg *a = c->args; a->name; a++)
        if (a->kind == HX_ARG_INTS) {
            hx_arg_ints *l = a->dst;
            free(l->v);
            l->v = NULL;
            l->n = 0;
        }
}
