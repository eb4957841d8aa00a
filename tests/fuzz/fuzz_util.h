/* Shared by the fuzz targets: a private scratch directory per process (under
 * $TMPDIR, else /tmp; removed at exit) and writing the fuzzer's bytes to a
 * file in it, for parsers that take a path. Failing to write scratch files
 * is a broken machine, not a finding: it aborts. */
#ifndef HX_FUZZ_UTIL_H
#define HX_FUZZ_UTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fz_root[4096];

static int fz_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void fz_cleanup(void) { nftw(fz_root, fz_rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

/* The scratch directory, created on first use. */
static inline const char *fz_dir(void)
{
    if (!fz_root[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fz_root, sizeof fz_root, "%s/hx-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(fz_root)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fz_cleanup);
    }
    return fz_root;
}

/* Writes `path` with `size` bytes of `data`. */
static inline void fz_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* Writes the bytes to <scratch>/<name> and returns that path (static storage,
 * valid until the next call). */
static inline const char *fz_write(const char *name, const uint8_t *data, size_t size)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
    fz_write_file(path, data, size);
    return path;
}

#endif
