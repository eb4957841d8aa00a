/* Per-thread last-error message with file:line provenance. */
#include "core/err.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HX_ERRMSG_MAX 1024

static _Thread_local char errbuf[HX_ERRMSG_MAX];
static _Thread_local size_t textoff; /* where the text after "file:line: " starts */

int hx_seterr(int code, const char *file, int line, const char *fmt, ...)
{
    int n = snprintf(errbuf, sizeof errbuf, "%s:%d: ", file, line);
    if (n < 0 || (size_t)n >= sizeof errbuf) n = 0;
    textoff = (size_t)n;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf + n, sizeof errbuf - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

int hx_adderr(int code, const char *fmt, ...)
{
    char prefix[HX_ERRMSG_MAX], old[HX_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, errbuf, sizeof old);
    size_t n = strnlen(prefix, sizeof prefix - 3);
    memcpy(errbuf, prefix, n);
    memcpy(errbuf + n, ": ", 2);
    size_t m = strnlen(old, sizeof errbuf - n - 3);
    memcpy(errbuf + n + 2, old, m);
    errbuf[n + 2 + m] = '\0';
    textoff = 0;
    return code;
}

int hx_check_finite_at(const float *xf, const double *xd, size_t n, const char *file, int line, const char *fmt, ...)
{
    size_t i = 0;
    if (xf)
        while (i < n && isfinite(xf[i])) i++;
    else
        while (i < n && isfinite(xd[i])) i++;
    if (i == n) return HX_OK;
    double v = xf ? (double)xf[i] : xd[i];
    const char *what = isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
    char name[HX_ERRMSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (n == 1) return hx_seterr(HX_ENAN, file, line, "%s is %s", name, what);
    return hx_seterr(HX_ENAN, file, line, "%s: element %zu is %s", name, i, what);
}

const char *hx_errmsg(void) { return errbuf; }

const char *hx_errtext(void) { return errbuf + textoff; }

void hx_clearerr(void)
{
    errbuf[0] = '\0';
    textoff = 0;
}

const char *hx_strstatus(int code)
{
    switch (code) {
    case HX_OK: return "OK";
    case HX_EIO: return "EIO";
    case HX_EFORMAT: return "EFORMAT";
    case HX_EINVAL: return "EINVAL";
    case HX_ENOMEM: return "ENOMEM";
    case HX_ENAN: return "ENAN";
    case HX_ENOSPC: return "ENOSPC";
    case HX_EINTR: return "EINTR";
    default: return "EUNKNOWN";
    }
}

void *hx_malloc_at(size_t bytes, const char *file, int line)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) hx_seterr(HX_ENOMEM, file, line, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *hx_calloc_at(size_t n, size_t size, const char *file, int line)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) hx_seterr(HX_ENOMEM, file, line, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

int hx_report(int code)
{
    fprintf(stderr, "error (%s): %s\n", hx_strstatus(code), hx_errmsg());
    return 1;
}
