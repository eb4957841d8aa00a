/* Strict parsing of numbers and names given as text: the one parser behind
 * every command-line option and every manifest scalar. A value is accepted
 * only when the whole string is consumed: "1.8B" is 1800000000, "1.8X",
 * "12abc", "", " 5" and "nan" are refused. */
#ifndef HX_CORE_PARSE_H
#define HX_CORE_PARSE_H

#include <stdint.h>

/* Decimal integer with an optional k/K (1e3), M (1e6), B/G (1e9) or T (1e12)
 * suffix, or an exponent ("60k", "1.8B", "94e9", "-3"); the value must be
 * integral and fit int64. Returns 0, or -1 (nothing written) when `s` is not
 * such a number. */
int hx_parse_count(const char *s, int64_t *out);

/* Finite decimal or scientific number ("3e-4", "-0.5"); inf/nan refused.
 * Returns 0 or -1. */
int hx_parse_double(const char *s, double *out);

/* Unsigned 64-bit decimal integer without sign or suffix (seeds).
 * Returns 0 or -1. */
int hx_parse_u64(const char *s, uint64_t *out);

/* Index of `s` in the NULL-terminated `names`, or -1. */
int hx_parse_enum(const char *const *names, const char *s);

/* Command-line forms: the same parsers, with an HX_EINVAL error that names
 * the option ("--tokens: '1.8X' is not an integer (k/M/B/T suffixes
 * allowed)") and the accepted range [lo, hi]. `opt` is the option's name
 * without dashes. */
int hx_opt_i64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out);
int hx_opt_int(const char *opt, const char *s, int lo, int hi, int *out);
int hx_opt_u64(const char *opt, const char *s, uint64_t *out);
/* lo/hi inclusive; pass -INFINITY/INFINITY for an open side. */
int hx_opt_double(const char *opt, const char *s, double lo, double hi, double *out);
/* The error lists the accepted names. */
int hx_opt_enum(const char *opt, const char *s, const char *const *names, int *out);
/* Comma-separated integers, each in [lo, hi], into a fresh malloc'd array
 * (*out freed and replaced on success). Errors: HX_EINVAL (empty list or a
 * bad element, named), HX_ENOMEM. */
int hx_opt_int_list(const char *opt, const char *s, int lo, int hi, int **out, int *n);

/* Levenshtein distance between a and b, letters compared without case, for
 * "did you mean" suggestions; 99 when either is longer than 63 bytes. */
int hx_edit_distance(const char *a, const char *b);

#endif
