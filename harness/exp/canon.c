/* The canonical text of a struct described by a field table, for content
 * hashing: one "path=value" line per field in table order. */
#include "exp/canon.h"

#include "core/err.h"
#include "core/util.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

static int canon_str(FILE *f, const char *s, int is_path)
{
    if (s && is_path && access(s, F_OK) == 0) {
        char d[65];
        HX_TRY(hx_sha256_path(s, d));
        fprintf(f, "sha256:%s", d);
        return HX_OK;
    }
    if (!s) {
        fputs("~", f);
        return HX_OK;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
    fputc('"', f);
    return HX_OK;
}

int hx_canon_table(FILE *out, const hx_bind_table *t, const char *base, const char *prefix)
{
    for (int i = 0; i < t->n; i++) {
        const hx_bind_field *f = &t->f[i];
        const char *src = base + f->off;
        char p[256];
        snprintf(p, sizeof p, "%s%s%s", prefix, *prefix ? "." : "", f->key);
        if (f->k == K_DEFER) continue;
        if (f->k == K_INLINE) {
            HX_TRY(hx_canon_table(out, f->sub, src, prefix));
            continue;
        }
        if (f->k == K_SECTION) {
            HX_TRY(hx_canon_table(out, f->sub, src, p));
            continue;
        }
        int n = 0;
        if (f->k == K_STRLIST || f->k == K_INTLIST || f->k == K_LIST) memcpy(&n, base + f->off_n, sizeof n);
        if (f->k == K_LIST) {
            const char *arr = hx_bind_load_ptr(src);
            fprintf(out, "%s#=%d\n", p, n);
            for (int j = 0; j < n; j++) {
                char q[280];
                snprintf(q, sizeof q, "%s[%d]", p, j);
                HX_TRY(hx_canon_table(out, f->sub, arr + f->elem_size * (size_t)j, q));
            }
            continue;
        }
        fprintf(out, "%s=", p);
        switch (f->k) {
        case K_INT: { int v; memcpy(&v, src, sizeof v); fprintf(out, "%d", v); break; }
        case K_BOOL: { int v; memcpy(&v, src, sizeof v); fputs(v ? "true" : "false", out); break; }
        case K_ENUM: { int v; memcpy(&v, src, sizeof v); fputs(f->names[v], out); break; }
        case K_COUNT: { int64_t v; memcpy(&v, src, sizeof v); fprintf(out, "%lld", (long long)v); break; }
        case K_SEED: { uint64_t v; memcpy(&v, src, sizeof v); fprintf(out, "%llu", (unsigned long long)v); break; }
        case K_DOUBLE: { double v; memcpy(&v, src, sizeof v); fprintf(out, "%.17g", v); break; }
        case K_FLOAT: { float v; memcpy(&v, src, sizeof v); fprintf(out, "%.9g", (double)v); break; }
        case K_CSTR: HX_TRY(canon_str(out, src, 0)); break;
        case K_STR: HX_TRY(canon_str(out, hx_bind_load_ptr(src), f->is_path)); break;
        case K_STRLIST: {
            const char **v = hx_bind_load_ptr(src);
            fputc('[', out);
            for (int j = 0; j < n; j++) {
                if (j) fputc(',', out);
                HX_TRY(canon_str(out, v[j], f->is_path));
            }
            fputc(']', out);
            break;
        }
        case K_INTLIST: {
            const int *v = hx_bind_load_ptr(src);
            fputc('[', out);
            for (int j = 0; j < n; j++) fprintf(out, "%s%d", j ? "," : "", v[j]);
            fputc(']', out);
            break;
        }
        default: break;
        }
        fputc('\n', out);
    }
    return HX_OK;
}

int hx_canon_one(FILE *out, const hx_bind_table *t, const char *base, const char *prefix, const char *key)
{
    const hx_bind_field *f = hx_bind_field_by_key(t, key);
    if (!f) return HX_ERR(HX_EINVAL, "internal: no field %s.%s", prefix, key);
    hx_bind_table one = {f, 1};
    return hx_canon_table(out, &one, base, prefix);
}
