/* Strict number and name parsing shared by the command line and manifests. */
#include "core/parse.h"

#include "core/err.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* strtoll/strtod skip leading whitespace and strtod reads hex ("0x10"): a
 * value must start with its sign, a point or a digit, and be decimal. */
static int starts_number(const char *s)
{
    return s && (*s == '-' || *s == '+' || *s == '.' || (*s >= '0' && *s <= '9')) && !strpbrk(s, "xX");
}

int hx_parse_count(const char *s, int64_t *out)
{
    if (!starts_number(s)) return -1;
    char *end;
    errno = 0;
    long long iv = strtoll(s, &end, 10);
    if (end != s && !*end && !errno) {
        *out = iv;
        return 0;
    }
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno) return -1;
    double mult = 1;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': mult = 1e3; break;
        case 'M': mult = 1e6; break;
        case 'B': case 'G': mult = 1e9; break;
        case 'T': mult = 1e12; break;
        default: return -1;
        }
        if (end[1]) return -1;
    }
    v *= mult;
    if (!isfinite(v) || fabs(v) > 9.2e18 || v != floor(v)) return -1;
    *out = (int64_t)v;
    return 0;
}

int hx_parse_double(const char *s, double *out)
{
    if (!starts_number(s)) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int hx_parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno) return -1;
    *out = v;
    return 0;
}

int hx_parse_enum(const char *const *names, const char *s)
{
    for (int i = 0; s && names[i]; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

int hx_opt_i64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v;
    if (hx_parse_count(s, &v))
        return HX_ERR(HX_EINVAL, "--%s: '%s' is not an integer (k/M/B/T suffixes allowed, e.g. 60k, 1.8B)", opt,
                      s ? s : "");
    if (v < lo || v > hi)
        return HX_ERR(HX_EINVAL, "--%s: %s is out of range [%lld, %lld]", opt, s, (long long)lo, (long long)hi);
    *out = v;
    return HX_OK;
}

int hx_opt_int(const char *opt, const char *s, int lo, int hi, int *out)
{
    int64_t v = 0;
    HX_TRY(hx_opt_i64(opt, s, lo, hi, &v));
    *out = (int)v;
    return HX_OK;
}

int hx_opt_u64(const char *opt, const char *s, uint64_t *out)
{
    if (hx_parse_u64(s, out)) return HX_ERR(HX_EINVAL, "--%s: '%s' is not a non-negative integer", opt, s ? s : "");
    return HX_OK;
}

int hx_opt_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    double v;
    if (hx_parse_double(s, &v)) return HX_ERR(HX_EINVAL, "--%s: '%s' is not a finite number", opt, s ? s : "");
    if (v < lo || v > hi) return HX_ERR(HX_EINVAL, "--%s: %s is out of range [%g, %g]", opt, s, lo, hi);
    *out = v;
    return HX_OK;
}

int hx_opt_enum(const char *opt, const char *s, const char *const *names, int *out)
{
    int i = hx_parse_enum(names, s);
    if (i >= 0) {
        *out = i;
        return HX_OK;
    }
    char list[256];
    size_t o = 0;
    list[0] = 0;
    for (int j = 0; names[j] && o < sizeof list; j++) o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", names[j]);
    return HX_ERR(HX_EINVAL, "--%s: '%s' is not one of %s", opt, s ? s : "", list);
}

int hx_opt_int_list(const char *opt, const char *s, int lo, int hi, int **out, int *n)
{
    int cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    int *v = hx_malloc(sizeof(int) * (size_t)cap);
    char *copy = v ? strdup(s) : NULL;
    if (!copy) {
        free(v);
        return HX_ERR(HX_ENOMEM, "out of memory");
    }
    int k = 0, rc = HX_OK;
    for (char *tok = copy, *next; tok && rc == HX_OK; tok = next) { /* "1,,2" and "1," are refused */
        next = strchr(tok, ',');
        if (next) *next++ = 0;
        rc = hx_opt_int(opt, tok, lo, hi, &v[k++]);
    }
    free(copy);
    if (rc == HX_OK && k == 0) rc = HX_ERR(HX_EINVAL, "--%s: empty list", opt);
    if (rc < 0) {
        free(v);
        return rc;
    }
    free(*out);
    *out = v;
    *n = k;
    return HX_OK;
}

int hx_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int sub = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}
