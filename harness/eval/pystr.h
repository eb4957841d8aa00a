/* Python `str` whitespace semantics on UTF-8 text, for the places where
 * lm-evaluation-harness calls str.strip()/rstrip() or re.split(r"\s+")
 * (context/continuation split, task preprocessing, word counts). */
#ifndef HX_EVAL_PYSTR_H
#define HX_EVAL_PYSTR_H

#include <stddef.h>

/* 1 if code point `cp` is whitespace for Python's str.isspace() (and for
 * `\s` in a str regex): U+0009-U+000D, U+001C-U+001F, U+0020, U+0085,
 * U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000
 * (CPython 3.11: bidirectional type WS, B or S, or category Zs). */
int hx_py_isspace(unsigned cp);

/* Byte length of the whitespace character that starts s[0..len), or 0 when
 * s starts with a non-space character, with invalid or truncated UTF-8
 * (never whitespace), or len is 0. */
size_t hx_py_space_len(const char *s, size_t len);

/* Length of s[0..len) after Python's s.rstrip(): trailing whitespace
 * characters (decoded from the end; invalid UTF-8 stops the strip). */
size_t hx_py_rstrip(const char *s, size_t len);

/* Number of leading bytes Python's s.lstrip() removes. */
size_t hx_py_lstrip(const char *s, size_t len);

#endif
