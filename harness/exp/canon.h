/* The canonical text of a struct described by a field table (exp/bind.h), the
 * input of a content hash: one "path=value" line per field, in table order,
 * built from the typed values, so key order, formatting and explicitly
 * written defaults do not change it. */
#ifndef HX_EXP_CANON_H
#define HX_EXP_CANON_H

#include "exp/bind.h"

#include <stdio.h>

/* Writes "prefix.key=value" lines to `out` for every field of `t` of the
 * struct at `base`, in table order: sections as "prefix.section.key=...",
 * inlined tables under `prefix` itself, lists of mappings as "key#=<count>"
 * then "key[<i>].sub=..."; deferred fields are left out. Strings are quoted
 * and escaped, NULL is "~"; a path field (is_path) naming a file or directory
 * that exists is written as "sha256:<digest of its contents>" (see
 * hx_sha256_path). Errors: those of hx_sha256_path (HX_EIO: a path could not
 * be read, HX_ENOMEM). */
int hx_canon_table(FILE *out, const hx_bind_table *t, const char *base, const char *prefix);

/* The same for the one field of `t` named `key` (hx_bind_field_by_key).
 * Errors: HX_EINVAL (no such field), those of hx_canon_table. */
int hx_canon_one(FILE *out, const hx_bind_table *t, const char *base, const char *prefix, const char *key);

#endif
