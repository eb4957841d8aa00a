/* Small host utilities: wall-clock time, thread count, files (read whole,
 * atomic replace, mkdir -p), SHA-256 digests, and a terminal progress line. */
#ifndef HX_CORE_UTIL_H
#define HX_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Monotonic wall-clock time in seconds. */
double hx_now(void);

/* Number of threads used for non-GEMM ops (OpenMP) and set for OpenBLAS.
 * hx_threads_init() reads HX_THREADS (default: all online cores) and applies
 * it to both OpenMP and OpenBLAS. Call once at start-up. A malformed HX_THREADS
 * (not an integer in [1, 4096]) is reported and exits with status 2. (Idle OpenMP threads
 * must wait passively so they do not steal cores from OpenBLAS: libgomp reads
 * OMP_WAIT_POLICY before main, so bin/harness sets it and re-executes itself,
 * and tests/run-tests.sh exports it.) */
void hx_threads_init(void);
int hx_threads(void);
void hx_set_threads(int n);

/* Reads a whole file into a NUL-terminated buffer (caller frees).
 * Errors: HX_EIO (open/read), HX_ENOMEM. `*len` gets the size in bytes. */
int hx_read_file(const char *path, char **out, size_t *len);

/* Maps the whole file `path` read-only (MAP_PRIVATE); *size gets its size
 * in bytes and *map the mapping (NULL for an empty file). Release with
 * hx_unmap_file. Errors: HX_EIO (open, stat or mmap, naming the path). */
int hx_map_file(const char *path, void **map, size_t *size);
void hx_unmap_file(void *map, size_t size);
/* Writes `len` bytes to `path` atomically: writes "<path>.tmp.<pid>", fsyncs,
 * then renames over `path`. On failure (HX_EIO, HX_ENOSPC) `path` is untouched
 * and the temporary file is removed. The "<path>.tmp.<pid>" left by a process
 * that was killed while writing `path` (pid no longer running) are removed
 * first. */
int hx_write_file_atomic(const char *path, const void *data, size_t len);

/* 1 when process `pid` (> 0) is gone, so that its temporary files are stale. */
int hx_pid_gone(long pid);

/* Copies the file `src` to `dst` byte for byte, atomically (as
 * hx_write_file_atomic). Errors: those of hx_read_file and
 * hx_write_file_atomic. */
int hx_copy_file(const char *src, const char *dst);

/* Creates a directory and its parents (like mkdir -p). HX_EIO on failure. */
int hx_mkdir_p(const char *path);

/* Removes a file or a directory tree (like rm -rf; a missing path is fine).
 * Errors: HX_EIO naming the path. */
int hx_rm_rf(const char *path);

/* printf into a fresh malloc'd string (caller frees); NULL with HX_ENOMEM
 * recorded on allocation failure. */
char *hx_strfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Joins two path components into a malloc'd string ("a/b"). */
char *hx_path_join(const char *a, const char *b);

/* SHA-256 of a buffer, or of a file, as 64 lowercase hex chars + NUL. A
 * file's digest is remembered for the rest of the process under its device,
 * inode, size and modification time, so a file named by several cache keys is
 * read once; rewriting it (or replacing it) changes that key. */
void hx_sha256_hex(const void *data, size_t len, char out[65]);
int hx_sha256_file(const char *path, char out[65]);

/* SHA-256 of a directory tree: of the sorted "relpath sha256\n" listing of
 * every regular file under it (hidden entries skipped; symbolic links to
 * files followed, to directories not, so a link loop ends), so changing any
 * file's bytes, adding, removing or renaming one changes it. */
int hx_sha256_dir(const char *path, char out[65]);

/* hx_sha256_file for a file, hx_sha256_dir for a directory. Errors: HX_EIO
 * (missing, unreadable, or neither a regular file nor a directory, e.g. a
 * device that would never end), HX_ENOMEM. */
int hx_sha256_path(const char *path, char out[65]);

/* Progress display. On a terminal it redraws one line (\r) at most 10 times a
 * second; otherwise it prints a plain line every `interval_s` seconds. */
typedef struct {
    FILE *out;
    int tty;
    double start, last, interval_s;
} hx_progress;

void hx_progress_init(hx_progress *p, FILE *out, double interval_s);
/* Shows `line` if due (or if `force`); the caller formats the content. */
void hx_progress_show(hx_progress *p, int force, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ends a terminal progress line with a newline. */
void hx_progress_done(hx_progress *p);

#endif
