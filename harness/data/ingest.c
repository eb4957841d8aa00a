/* Streaming document reader: walks files and directories, opens plain,
 * compressed and tar inputs (libarchive), and yields plain-text and JSONL
 * documents one at a time with bounded memory. See ingest.h for the rules. */
#include "data/ingest.h"

#include "core/err.h"
#include "core/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK_BYTES (64u << 10)
#define DEFAULT_MAX_DOC ((size_t)64 << 20)
#define REJECTED 2 /* internal: document dropped under HX_INGEST_SKIP */

typedef enum { FMT_TEXT, FMT_JSONL } doc_format;

/* One level of the input walk: a list of paths and the next one to visit. */
typedef struct {
    char **paths;
    size_t n, next;
} walk_frame;

struct hx_ingest {
    hx_ingest_opts opts;
    hx_ingest_stats stats;
    walk_frame *stack;
    size_t depth, stack_cap;

    /* The file being read: an archive (tar, or one compressed stream) or a plain fd. */
    char *path;
    struct archive *ar;
    int ar_is_tar;
    int fd;
    /* The stream being read: the file itself or one tar member. */
    int stream_open;
    doc_format fmt;
    char *source;
    uint64_t line_no;
    char *block;
    size_t pos, end;
    int eof;

    char *buf; /* current document or JSONL line */
    size_t len, cap;
    json_t *json; /* parsed line that owns the returned text */
    int done;
    hx_progress progress;
    int show_progress;
};

const char *hx_reject_name(hx_reject_reason r)
{
    static const char *names[HX_REJECT_N] = {"invalid_utf8", "bad_json", "missing_field", "not_string",
                                             "too_large"};
    return (unsigned)r < HX_REJECT_N ? names[r] : "unknown";
}

size_t hx_utf8_valid_prefix(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned cp, min;
        if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (i + k >= n) return i; /* truncated at the end */
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += k + 1;
    }
    return n;
}

/* ---- input walk ------------------------------------------------------- */

static int push_frame(hx_ingest *it, char **paths, size_t n)
{
    if (it->depth == it->stack_cap) {
        size_t cap = it->stack_cap ? 2 * it->stack_cap : 8;
        walk_frame *s = realloc(it->stack, cap * sizeof *s);
        if (!s) return HX_ERR(HX_ENOMEM, "out of memory");
        it->stack = s;
        it->stack_cap = cap;
    }
    it->stack[it->depth++] = (walk_frame){paths, n, 0};
    return HX_OK;
}

static void free_paths(char **p, size_t n)
{
    for (size_t i = 0; i < n; i++) free(p[i]);
    free(p);
}

static int visible(const struct dirent *d) { return d->d_name[0] != '.'; }
static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

static int push_dir(hx_ingest *it, const char *dir)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, visible, by_name);
    if (n < 0) return HX_ERR(HX_EIO, "%s: cannot read directory: %s", dir, strerror(errno));
    char **paths = calloc((size_t)n + 1, sizeof *paths);
    int rc = paths ? HX_OK : HX_ERR(HX_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        if (rc == HX_OK && !(paths[i] = hx_path_join(dir, ents[i]->d_name))) rc = HX_ENOMEM;
        free(ents[i]);
    }
    free(ents);
    if (rc == HX_OK) rc = push_frame(it, paths, (size_t)n);
    if (rc < 0 && paths) free_paths(paths, (size_t)n);
    return rc;
}

/* Next regular file of the walk into it->path: 1, or 0 when the walk ends. */
static int next_file(hx_ingest *it)
{
    while (it->depth > 0) {
        walk_frame *f = &it->stack[it->depth - 1];
        if (f->next == f->n) {
            /* The bottom frame holds the caller's paths, which we do not own. */
            if (it->depth > 1) free_paths(f->paths, f->n);
            it->depth--;
            continue;
        }
        const char *p = f->paths[f->next++];
        struct stat st;
        if (stat(p, &st) != 0) return HX_ERR(HX_EIO, "%s: cannot stat: %s", p, strerror(errno));
        if (S_ISDIR(st.st_mode)) {
            HX_TRY(push_dir(it, p));
            continue;
        }
        if (!S_ISREG(st.st_mode)) continue;
        free(it->path);
        if (!(it->path = strdup(p))) return HX_ERR(HX_ENOMEM, "out of memory");
        return 1;
    }
    return 0;
}

/* ---- naming rules ----------------------------------------------------- */

static int ends_with(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && memcmp(s + n - k, suf, k) == 0;
}

/* Length of `name` without its compression suffix; *tar set for .tgz/.tzst. */
static size_t strip_compression(const char *name, int *compressed, int *tar)
{
    static const char *sufs[] = {".gz", ".zst", ".xz", ".bz2", ".lz4"};
    size_t n = strlen(name);
    *compressed = *tar = 0;
    if (ends_with(name, n, ".tgz") || ends_with(name, n, ".tzst")) {
        *compressed = *tar = 1;
        return n;
    }
    for (size_t i = 0; i < sizeof sufs / sizeof *sufs; i++)
        if (ends_with(name, n, sufs[i])) {
            *compressed = 1;
            return n - strlen(sufs[i]);
        }
    return n;
}

static doc_format format_of(const char *name, size_t n)
{
    return ends_with(name, n, ".jsonl") || ends_with(name, n, ".ndjson") ? FMT_JSONL : FMT_TEXT;
}

/* ---- streams ---------------------------------------------------------- */

static void close_file(hx_ingest *it)
{
    if (it->ar) archive_read_free(it->ar);
    it->ar = NULL;
    if (it->fd >= 0) close(it->fd);
    it->fd = -1;
}

static int begin_stream(hx_ingest *it, const char *source, doc_format fmt)
{
    free(it->source);
    if (!(it->source = strdup(source))) return HX_ERR(HX_ENOMEM, "out of memory");
    it->fmt = fmt;
    it->line_no = 0;
    it->pos = it->end = 0;
    it->eof = 0;
    it->stream_open = 1;
    it->stats.files++;
    return HX_OK;
}

static int archive_fail(hx_ingest *it, const char *what)
{
    return HX_ERR(HX_EFORMAT, "%s: %s: %s", it->path, what, it->ar ? archive_error_string(it->ar) : "?");
}

/* Next regular member of the open tar: 1 (stream begun), 0 at its end. */
static int next_member(hx_ingest *it)
{
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(it->ar, &e);
        if (r == ARCHIVE_EOF) return 0;
        if (r < ARCHIVE_WARN) return archive_fail(it, "cannot read tar header");
        if (archive_entry_filetype(e) != AE_IFREG) continue;
        const char *name = archive_entry_pathname(e);
        size_t sl = strlen(it->path) + strlen(name) + 2;
        char *src = malloc(sl);
        if (!src) return HX_ERR(HX_ENOMEM, "out of memory");
        snprintf(src, sl, "%s:%s", it->path, name);
        int rc = begin_stream(it, src, format_of(name, strlen(name)));
        free(src);
        return rc < 0 ? rc : 1;
    }
}

/* Opens the next stream (tar member or file): 1, or 0 when inputs are done. */
static int open_next_stream(hx_ingest *it)
{
    for (;;) {
        if (it->ar && it->ar_is_tar) {
            int r = next_member(it);
            if (r != 0) return r;
            close_file(it);
        }
        int r = next_file(it);
        if (r <= 0) return r;
        int compressed, tar;
        size_t n = strip_compression(it->path, &compressed, &tar);
        tar = tar || ends_with(it->path, n, ".tar");
        if (!compressed && !tar) {
            it->fd = open(it->path, O_RDONLY);
            if (it->fd < 0) return HX_ERR(HX_EIO, "%s: cannot open: %s", it->path, strerror(errno));
            r = begin_stream(it, it->path, format_of(it->path, n));
            return r < 0 ? r : 1;
        }
        if (!(it->ar = archive_read_new())) return HX_ERR(HX_ENOMEM, "out of memory");
        it->ar_is_tar = tar;
        archive_read_support_filter_all(it->ar);
        if (tar)
            archive_read_support_format_tar(it->ar);
        else
            archive_read_support_format_raw(it->ar);
        if (archive_read_open_filename(it->ar, it->path, BLOCK_BYTES) != ARCHIVE_OK)
            return archive_fail(it, "cannot open");
        if (tar) continue;
        struct archive_entry *e;
        r = archive_read_next_header(it->ar, &e);
        if (r == ARCHIVE_EOF) { /* empty compressed file: no documents */
            close_file(it);
            continue;
        }
        if (r < ARCHIVE_WARN) return archive_fail(it, "cannot read");
        r = begin_stream(it, it->path, format_of(it->path, n));
        return r < 0 ? r : 1;
    }
}

static void end_stream(hx_ingest *it)
{
    it->stream_open = 0;
    if (!it->ar_is_tar || !it->ar) close_file(it);
}

/* Refills the block buffer: bytes read (0 at the end of the stream). */
static int refill(hx_ingest *it)
{
    it->pos = it->end = 0;
    if (it->eof) return 0;
    ssize_t n;
    if (it->ar) {
        n = archive_read_data(it->ar, it->block, BLOCK_BYTES);
        if (n < 0) return archive_fail(it, it->ar_is_tar ? it->source : "cannot decompress");
    } else {
        do n = read(it->fd, it->block, BLOCK_BYTES);
        while (n < 0 && errno == EINTR);
        if (n < 0) return HX_ERR(HX_EIO, "%s: read error: %s", it->path, strerror(errno));
    }
    if (n == 0) it->eof = 1;
    it->end = (size_t)n;
    it->stats.input_bytes += (uint64_t)n;
    return (int)(n > 0);
}

/* Appends to the document buffer, growing it; fails past max_doc_bytes. */
static int append(hx_ingest *it, const char *p, size_t n, int *too_large)
{
    if (*too_large || n == 0) return HX_OK;
    if (it->len + n > it->opts.max_doc_bytes) {
        *too_large = 1;
        return HX_OK;
    }
    if (it->len + n > it->cap) {
        size_t cap = it->cap ? it->cap : BLOCK_BYTES;
        while (cap < it->len + n) cap *= 2;
        if (cap > it->opts.max_doc_bytes) cap = it->opts.max_doc_bytes;
        char *b = realloc(it->buf, cap);
        if (!b) return HX_ERR(HX_ENOMEM, "out of memory (%zu bytes for a document)", cap);
        it->buf = b;
        it->cap = cap;
    }
    memcpy(it->buf + it->len, p, n);
    it->len += n;
    return HX_OK;
}

/* Rejects the current document: an error (STOP) or a counted skip (SKIP). */
static int reject(hx_ingest *it, hx_reject_reason why, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int reject(hx_ingest *it, hx_reject_reason why, uint64_t line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (it->opts.on_error == HX_INGEST_STOP)
        return HX_ERR(HX_EFORMAT, "%s:%llu: %s (%s)", it->source, (unsigned long long)line, msg,
                      hx_reject_name(why));
    it->stats.skipped++;
    it->stats.skipped_by[why]++;
    return REJECTED;
}

static int check_utf8(hx_ingest *it, const char *s, size_t n, uint64_t line, const char *where)
{
    size_t ok = hx_utf8_valid_prefix(s, n);
    if (ok == n) return HX_OK;
    uint64_t l = line;
    for (size_t i = 0; i < ok; i++) l += s[i] == '\n';
    return reject(it, HX_REJECT_UTF8, l, "invalid UTF-8 at byte offset %zu%s (byte 0x%02x)", ok, where,
                  (unsigned char)s[ok]);
}

/* Plain text: the whole stream is one document. */
static int read_text_doc(hx_ingest *it, hx_doc *doc)
{
    it->len = 0;
    int too_large = 0, r;
    while ((r = refill(it)) > 0) HX_TRY(append(it, it->block, it->end, &too_large));
    HX_TRY(r);
    if (too_large) return reject(it, HX_REJECT_TOO_LARGE, 1, "document longer than %zu bytes", it->opts.max_doc_bytes);
    const char *t = it->buf;
    size_t n = it->len;
    if (n >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0) t += 3, n -= 3;
    int rc = check_utf8(it, t, n, 1, "");
    if (rc != HX_OK) return rc;
    *doc = (hx_doc){t, n, it->source, 1};
    return 1;
}

/* Reads one line (without '\n') into the buffer: 1, or 0 at the end. */
static int read_line(hx_ingest *it, int *too_large)
{
    it->len = 0;
    *too_large = 0;
    int any = 0;
    for (;;) {
        if (it->pos == it->end) {
            int r = refill(it);
            HX_TRY(r);
            if (r == 0) break;
        }
        any = 1;
        char *start = it->block + it->pos;
        char *nl = memchr(start, '\n', it->end - it->pos);
        size_t n = nl ? (size_t)(nl - start) : it->end - it->pos;
        HX_TRY(append(it, start, n, too_large));
        it->pos += n + (nl != NULL);
        if (nl) break;
    }
    if (!any) return 0;
    it->line_no++;
    return 1;
}

static int read_jsonl_doc(hx_ingest *it, hx_doc *doc)
{
    for (;;) {
        int too_large, r = read_line(it, &too_large);
        if (r <= 0) return r;
        uint64_t ln = it->line_no;
        if (too_large) return reject(it, HX_REJECT_TOO_LARGE, ln, "line longer than %zu bytes", it->opts.max_doc_bytes);
        size_t k = 0;
        while (k < it->len && strchr(" \t\r", it->buf[k])) k++;
        if (k == it->len) continue; /* blank line */
        int rc = check_utf8(it, it->buf, it->len, ln, " of the line");
        if (rc != HX_OK) return rc;
        json_error_t jerr;
        json_decref(it->json);
        it->json = json_loadb(it->buf, it->len, 0, &jerr);
        if (!it->json) return reject(it, HX_REJECT_JSON, ln, "malformed JSON at column %d: %s", jerr.column, jerr.text);
        if (!json_is_object(it->json)) return reject(it, HX_REJECT_JSON, ln, "line is not a JSON object");
        json_t *v = json_object_get(it->json, it->opts.text_field);
        if (!v) return reject(it, HX_REJECT_MISSING, ln, "no field \"%s\"", it->opts.text_field);
        if (!json_is_string(v)) return reject(it, HX_REJECT_NOT_STRING, ln, "field \"%s\" is not a string", it->opts.text_field);
        *doc = (hx_doc){json_string_value(v), json_string_length(v), it->source, ln};
        return 1;
    }
}

/* ---- public API ------------------------------------------------------- */

int hx_ingest_open(const char *const *paths, size_t n, const hx_ingest_opts *opts, hx_ingest **out)
{
    *out = NULL;
    if (n == 0) return HX_ERR(HX_EINVAL, "ingest: no input paths");
    for (size_t i = 0; i < n; i++)
        if (access(paths[i], R_OK) != 0) return HX_ERR(HX_EIO, "%s: cannot read: %s", paths[i], strerror(errno));
    hx_ingest *it = hx_calloc(1, sizeof *it);
    if (!it) return HX_ENOMEM;
    it->fd = -1;
    if (opts) it->opts = *opts;
    if (!it->opts.text_field) it->opts.text_field = "text";
    if (!it->opts.max_doc_bytes) it->opts.max_doc_bytes = DEFAULT_MAX_DOC;
    it->block = hx_malloc(BLOCK_BYTES);
    int rc = it->block ? push_frame(it, (char **)paths, n) : HX_ENOMEM;
    if (rc < 0) {
        hx_ingest_close(it);
        return rc;
    }
    if (it->opts.progress && isatty(fileno(it->opts.progress))) {
        it->show_progress = 1;
        hx_progress_init(&it->progress, it->opts.progress, 1.0);
    }
    *out = it;
    return HX_OK;
}

static void show_progress(hx_ingest *it, int force)
{
    if (!it->show_progress) return;
    double dt = hx_now() - it->progress.start;
    hx_progress_show(&it->progress, force, "ingest: %.1f MB, %llu docs, %llu skipped, %.1f MB/s",
                     it->stats.input_bytes / 1e6, (unsigned long long)it->stats.docs,
                     (unsigned long long)it->stats.skipped, dt > 0 ? it->stats.input_bytes / 1e6 / dt : 0.0);
}

int hx_ingest_next(hx_ingest *it, hx_doc *doc)
{
    if (it->done) return 0;
    for (;;) {
        if (!it->stream_open) {
            int r = open_next_stream(it);
            if (r < 0) return r;
            if (r == 0) {
                it->done = 1;
                show_progress(it, 1);
                if (it->show_progress) hx_progress_done(&it->progress);
                return 0;
            }
        }
        int r;
        if (it->fmt == FMT_TEXT) {
            r = read_text_doc(it, doc);
            end_stream(it);
        } else {
            r = read_jsonl_doc(it, doc);
            if (r == 0) {
                end_stream(it);
                continue;
            }
        }
        if (r < 0) return r;
        if (r == REJECTED) continue;
        if (doc->len == 0) {
            it->stats.empty++;
            continue;
        }
        it->stats.docs++;
        it->stats.text_bytes += doc->len;
        show_progress(it, 0);
        return 1;
    }
}

const hx_ingest_stats *hx_ingest_stats_of(const hx_ingest *it) { return &it->stats; }

void hx_ingest_report_skips(const hx_ingest *it, FILE *out)
{
    if (!it->stats.skipped) return;
    fprintf(out, "skipped %llu documents (", (unsigned long long)it->stats.skipped);
    const char *sep = "";
    for (int r = 0; r < HX_REJECT_N; r++)
        if (it->stats.skipped_by[r]) {
            fprintf(out, "%s%s %llu", sep, hx_reject_name((hx_reject_reason)r),
                    (unsigned long long)it->stats.skipped_by[r]);
            sep = ", ";
        }
    fprintf(out, ")\n");
}

void hx_ingest_close(hx_ingest *it)
{
    if (!it) return;
    close_file(it);
    for (size_t d = it->depth; d > 1; d--) free_paths(it->stack[d - 1].paths, it->stack[d - 1].n);
    free(it->stack);
    free(it->path);
    free(it->source);
    free(it->block);
    free(it->buf);
    json_decref(it->json);
    free(it);
}
