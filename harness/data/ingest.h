/* Streaming document reader for training corpora: plain text files, JSONL,
 * directories, and any of these inside tar / compressed files (libarchive).
 *
 * Inputs and how they become documents:
 *  - A directory is walked recursively; entries are visited in byte order of
 *    their names (strcmp), so the document order does not depend on the file
 *    system. Names starting with '.' are ignored.
 *  - A file's kind comes from its name: an optional compression suffix
 *    (.gz .zst .xz .bz2 .lz4; .tgz means .tar.gz, .tzst means .tar.zst) is
 *    removed first; then "*.tar" is a tar archive whose regular members are
 *    read in archive order, "*.jsonl" / "*.ndjson" is JSON Lines, and any
 *    other name is plain text. Tar members are classified the same way by
 *    their own names (without a compression suffix: members are not
 *    decompressed a second time).
 *  - Plain text: the whole file (or member) is ONE document. A leading UTF-8
 *    byte-order mark is dropped. Its text is reported at line 1.
 *  - JSON Lines: one document per non-blank line; the line must be a JSON
 *    object whose field `text_field` (default "text") is a string.
 *  - Empty documents (0 bytes of text) are dropped silently and counted in
 *    hx_ingest_stats.empty; they are not errors.
 *
 * Memory: input is read in 64 KiB blocks; only the current document (or
 * JSONL line) is held, so memory stays bounded by max_doc_bytes whatever
 * the input size. A document (or JSONL line) longer than max_doc_bytes is
 * a "too_large" error; it is never split.
 *
 * Errors in a document (invalid UTF-8, malformed JSON, missing or non-string
 * text field, too large) name the source and line. With HX_INGEST_STOP (the
 * default) hx_ingest_next returns the error; with HX_INGEST_SKIP the
 * document is dropped, counted by reason, and reading continues.
 * Errors of the input itself (cannot open, corrupt or truncated compressed
 * data, unreadable archive) always stop: HX_EIO / HX_EFORMAT. */
#ifndef HX_DATA_INGEST_H
#define HX_DATA_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { HX_INGEST_STOP = 0, HX_INGEST_SKIP = 1 } hx_ingest_policy;

/* Reasons a document is rejected (index into hx_ingest_stats.skipped_by). */
typedef enum {
    HX_REJECT_UTF8 = 0,    /* text is not valid UTF-8 */
    HX_REJECT_JSON,        /* JSONL line is not a JSON object */
    HX_REJECT_MISSING,     /* JSONL object lacks the text field */
    HX_REJECT_NOT_STRING,  /* text field is not a string */
    HX_REJECT_TOO_LARGE,   /* document or line longer than max_doc_bytes */
    HX_REJECT_N
} hx_reject_reason;

/* Short name of a reason: "invalid_utf8", "bad_json", "missing_field",
 * "not_string", "too_large". */
const char *hx_reject_name(hx_reject_reason r);

typedef struct {
    const char *text_field;  /* JSONL field holding the text; NULL means "text" */
    hx_ingest_policy on_error;
    size_t max_doc_bytes;    /* 0 means 64 MiB */
    FILE *progress;          /* progress line (bytes, docs) shown here if it is a terminal; NULL: none */
} hx_ingest_opts;

/* One document. All pointers stay valid until the next hx_ingest_next or
 * hx_ingest_close. */
typedef struct {
    const char *text;    /* UTF-8, not NUL-terminated */
    size_t len;          /* bytes */
    const char *source;  /* file path, or "<archive path>:<member name>" */
    uint64_t line;       /* 1-based line of the document in its source */
} hx_doc;

typedef struct {
    uint64_t docs;                       /* documents returned */
    uint64_t text_bytes;                 /* bytes of text returned */
    uint64_t input_bytes;                /* bytes read, after decompression */
    uint64_t files;                      /* files and archive members opened */
    uint64_t empty;                      /* empty documents dropped */
    uint64_t skipped;                    /* documents rejected under HX_INGEST_SKIP */
    uint64_t skipped_by[HX_REJECT_N];    /* ... by reason */
} hx_ingest_stats;

typedef struct hx_ingest hx_ingest;

/* Opens a reader over `n` input paths (files or directories), read in the
 * given order. Paths are checked to exist here (HX_EIO naming the path);
 * directories are expanded lazily. `opts` may be NULL for defaults.
 * Errors: HX_EIO, HX_EINVAL (n == 0), HX_ENOMEM. */
int hx_ingest_open(const char *const *paths, size_t n, const hx_ingest_opts *opts, hx_ingest **out);

/* Returns the next document: 1 with *doc filled, 0 at the end of all
 * inputs, or a negative status (HX_EFORMAT for a bad document under
 * HX_INGEST_STOP, "<source>:<line>: ..."; HX_EIO / HX_EFORMAT for a bad
 * input; HX_ENOMEM). After an error the reader must only be closed. */
int hx_ingest_next(hx_ingest *it, hx_doc *doc);

/* Counters so far (valid until close). */
const hx_ingest_stats *hx_ingest_stats_of(const hx_ingest *it);

/* Writes "skipped N documents (invalid_utf8 A, bad_json B, ...)" listing the
 * non-zero reasons, or nothing if none were skipped. */
void hx_ingest_report_skips(const hx_ingest *it, FILE *out);

/* Closes the reader and frees everything; NULL is allowed. */
void hx_ingest_close(hx_ingest *it);

/* Length of the longest valid UTF-8 prefix of s[0..n) (== n when all of it
 * is valid). Strict RFC 3629: no overlong forms, no surrogates (U+D800..
 * U+DFFF), nothing above U+10FFFF, no truncated sequence at the end. */
size_t hx_utf8_valid_prefix(const char *s, size_t n);

#endif
