/* Error reporting for the whole harness: status codes, a per-thread last-error
 * message that carries the file:line where the error was raised, the macros
 * that raise and propagate errors, and the one check that refuses a
 * non-finite value (NaN, +-Inf) wherever one enters. */
#ifndef HX_CORE_ERR_H
#define HX_CORE_ERR_H

#include <stddef.h>

/* Status codes. Every fallible function returns HX_OK (0) or a negative code
 * and leaves a message retrievable with hx_errmsg(). */
enum {
    HX_OK = 0,
    HX_EIO = -1,      /* read/write/open failure, including truncated files */
    HX_EFORMAT = -2,  /* malformed file contents (bad header, bad JSON, ...) */
    HX_EINVAL = -3,   /* invalid argument or inconsistent configuration */
    HX_ENOMEM = -4,   /* allocation failure */
    HX_ENAN = -5,     /* non-finite value: loss, gradient, weight, score or metric (NaN or +-Inf) */
    HX_ENOSPC = -6,   /* disk full */
    HX_EINTR = -7,    /* interrupted by a signal */
};

/* Records an error message "file:line: <formatted text>" for the calling
 * thread and returns `code`, so it can be used as `return hx_seterr(...)`. */
int hx_seterr(int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes the current message with more context ("context: old message"),
 * keeping the original file:line. Returns `code`. */
int hx_adderr(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's last error message ("" if none). */
const char *hx_errmsg(void);

/* The same message without the "file:line: " of hx_seterr, for callers that
 * restate an error at another position (a manifest's line:column). A message
 * extended by hx_adderr is returned whole. */
const char *hx_errtext(void);

/* Clears the calling thread's error message. */
void hx_clearerr(void);

/* Name of a status code, e.g. "EFORMAT". */
const char *hx_strstatus(int code);

#define HX_ERR(code, ...) hx_seterr((code), __FILE__, __LINE__, __VA_ARGS__)

/* Evaluates `expr` (an int status) and returns it from the caller if negative. */
#define HX_TRY(expr)                 \
    do {                             \
        int hx_rc_ = (expr);         \
        if (hx_rc_ < 0) return hx_rc_; \
    } while (0)

/* Non-finite values are refused where they enter (weights on load, losses
 * before they are logged, importance scores, evaluation results).
 * hx_check_finite(x, n, fmt, ...) checks float x[0..n) and
 * hx_check_finite_d(x, n, fmt, ...) double x[0..n); `fmt` names what is
 * checked (e.g. "tensor '%s'", name). Returns HX_OK, or HX_ENAN with the
 * caller's file:line and "<what>: element <i> is nan" (or "inf", "-inf")
 * for the first bad element; for n == 1, "<what> is nan". */
int hx_check_finite_at(const float *xf, const double *xd, size_t n, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
#define hx_check_finite(x, n, ...) hx_check_finite_at((x), NULL, (n), __FILE__, __LINE__, __VA_ARGS__)
#define hx_check_finite_d(x, n, ...) hx_check_finite_at(NULL, (x), (n), __FILE__, __LINE__, __VA_ARGS__)

/* Allocation helpers: on failure they set HX_ENOMEM with the caller's
 * file:line and return NULL. Memory is zeroed by hx_calloc_at. */
void *hx_malloc_at(size_t bytes, const char *file, int line);
void *hx_calloc_at(size_t n, size_t size, const char *file, int line);
#define hx_malloc(bytes) hx_malloc_at((bytes), __FILE__, __LINE__)
#define hx_calloc(n, size) hx_calloc_at((n), (size), __FILE__, __LINE__)

/* Prints "error: <message>" to stderr for a CLI exit path and returns 1. */
int hx_report(int code);

#endif
