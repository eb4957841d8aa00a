/* Host utilities: time, threads, file I/O, SHA-256 (OpenSSL libcrypto),
 * progress line. */
#include "core/util.h"

#include "core/err.h"
#include "core/parse.h"

#include <cblas.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <ftw.h>
#include <fcntl.h>
#include <omp.h>
#include <pthread.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double hx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int g_threads = 0;

void hx_set_threads(int n)
{
    if (n < 1) n = 1;
    g_threads = n;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

void hx_threads_init(void)
{
    const char *env = getenv("HX_THREADS");
    int64_t n = sysconf(_SC_NPROCESSORS_ONLN);
    if (env && (hx_parse_count(env, &n) || n < 1 || n > 4096)) {
        fprintf(stderr, "error: HX_THREADS='%s' is not a thread count in [1, 4096]\n", env);
        exit(2);
    }
    hx_set_threads((int)n);
}

int hx_threads(void)
{
    if (g_threads == 0) hx_threads_init();
    return g_threads;
}

int hx_map_file(const char *path, void **map, size_t *size)
{
    *map = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return HX_ERR(HX_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return HX_ERR(HX_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    *size = (size_t)sb.st_size;
    if (!*size) {
        close(fd);
        return HX_OK;
    }
    void *p = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return HX_ERR(HX_EIO, "%s: mmap failed: %s", path, strerror(e));
    *map = p;
    return HX_OK;
}

void hx_unmap_file(void *map, size_t size)
{
    if (map) munmap(map, size);
}

int hx_read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return HX_ERR(HX_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return HX_ERR(HX_EIO, "%s: cannot seek: %s", path, strerror(errno));
    }
    long n = ftell(f);
    rewind(f);
    if (n < 0) {
        fclose(f);
        return HX_ERR(HX_EIO, "%s: cannot tell size", path);
    }
    char *buf = hx_malloc((size_t)n + 1);
    if (!buf) {
        fclose(f);
        return HX_ENOMEM;
    }
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n) {
        free(buf);
        return HX_ERR(HX_EIO, "%s: short read (%zu of %ld bytes)", path, got, n);
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = (size_t)n;
    return HX_OK;
}

int hx_pid_gone(long pid)
{
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Removes "<path>.tmp.<pid>" files of dead processes (killed mid-write). */
static void remove_stale_tmp_files(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path + (slash == path))) : strdup(".");
    const char *base = slash ? slash + 1 : path;
    size_t bl = strlen(base);
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, base, bl) != 0 || strncmp(e->d_name + bl, ".tmp.", 5) != 0) continue;
        char *end;
        long pid = strtol(e->d_name + bl + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid() || !hx_pid_gone(pid)) continue;
        char *p = hx_path_join(dir, e->d_name);
        if (p) unlink(p);
        free(p);
    }
    if (d) closedir(d);
    free(dir);
}

int hx_write_file_atomic(const char *path, const void *data, size_t len)
{
    size_t tl = strlen(path) + 32;
    char *tmp = hx_malloc(tl);
    if (!tmp) return HX_ENOMEM;
    remove_stale_tmp_files(path);
    snprintf(tmp, tl, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        int rc = HX_ERR(errno == ENOSPC ? HX_ENOSPC : HX_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            int rc = HX_ERR(e == ENOSPC ? HX_ENOSPC : HX_EIO, "%s: write failed: %s", path, strerror(e));
            free(tmp);
            return rc;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return HX_ERR(e == ENOSPC ? HX_ENOSPC : HX_EIO, "%s: sync failed: %s", path, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return HX_ERR(HX_EIO, "%s: rename failed: %s", path, strerror(e));
    }
    free(tmp);
    return HX_OK;
}

int hx_copy_file(const char *src, const char *dst)
{
    char *buf;
    size_t n;
    HX_TRY(hx_read_file(src, &buf, &n));
    int rc = hx_write_file_atomic(dst, buf, n);
    free(buf);
    return rc;
}

int hx_mkdir_p(const char *path)
{
    char *p = strdup(path);
    if (!p) return HX_ERR(HX_ENOMEM, "out of memory");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            int rc = HX_ERR(HX_EIO, "%s: cannot create directory: %s", p, strerror(e));
            free(p);
            return rc;
        }
        *s = '/';
    }
    int rc = HX_OK;
    if (mkdir(p, 0755) != 0 && errno != EEXIST) rc = HX_ERR(HX_EIO, "%s: cannot create directory: %s", p, strerror(errno));
    free(p);
    return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int hx_rm_rf(const char *path)
{
    if (access(path, F_OK) != 0) return HX_OK;
    if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return HX_ERR(HX_EIO, "%s: cannot remove: %s", path, strerror(errno));
    return HX_OK;
}

char *hx_strfmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    if (!s) HX_ERR(HX_ENOMEM, "out of memory formatting a string");
    return s;
}

char *hx_path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = hx_malloc(n);
    if (s) snprintf(s, n, "%s/%s", a, b);
    return s;
}

static void to_hex(const unsigned char *md, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

void hx_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    to_hex(md, out);
}

/* Digests already computed in this process, keyed by what changes when a
 * file is rewritten (device, inode, size, modification time in ns), so a
 * large input named by several cache keys is read once per run. */
typedef struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
    char hex[65];
} digest_memo;
static digest_memo *g_memo;
static size_t g_memo_n;
static pthread_mutex_t g_memo_lock = PTHREAD_MUTEX_INITIALIZER;

static int memo_find(const struct stat *st, char out[65])
{
    int64_t mt = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    int found = 0;
    pthread_mutex_lock(&g_memo_lock);
    for (size_t i = 0; i < g_memo_n && !found; i++)
        if (g_memo[i].dev == st->st_dev && g_memo[i].ino == st->st_ino && g_memo[i].size == st->st_size &&
            g_memo[i].mtime_ns == mt) {
            memcpy(out, g_memo[i].hex, 65);
            found = 1;
        }
    pthread_mutex_unlock(&g_memo_lock);
    return found;
}

static void memo_add(const struct stat *st, const char hex[65])
{
    pthread_mutex_lock(&g_memo_lock);
    digest_memo *m = realloc(g_memo, (g_memo_n + 1) * sizeof *g_memo);
    if (m) {
        g_memo = m;
        g_memo[g_memo_n] = (digest_memo){st->st_dev, st->st_ino, st->st_size,
                                         (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec, ""};
        memcpy(g_memo[g_memo_n++].hex, hex, 65);
    }
    pthread_mutex_unlock(&g_memo_lock);
}

int hx_sha256_file(const char *path, char out[65])
{
    FILE *f = fopen(path, "rb");
    if (!f) return HX_ERR(HX_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int have_st = fstat(fileno(f), &st) == 0;
    if (have_st && memo_find(&st, out)) {
        fclose(f);
        return HX_OK;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(ctx, buf, n);
    int bad = ferror(f);
    fclose(f);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (bad) return HX_ERR(HX_EIO, "%s: read error", path);
    to_hex(md, out);
    if (have_st) memo_add(&st, out);
    return HX_OK;
}

/* Appends "relpath sha256\n" for every regular file under `path`
 * (recursively, sorted by name, hidden entries skipped) to `f`. */
static int digest_tree(FILE *f, const char *path, const char *rel)
{
    struct dirent **ents;
    int n = scandir(path, &ents, NULL, alphasort);
    if (n < 0) return HX_ERR(HX_EIO, "%s: cannot list: %s", path, strerror(errno));
    int rc = HX_OK;
    for (int i = 0; i < n; i++) {
        if (rc == HX_OK && ents[i]->d_name[0] != '.') {
            char *p = hx_path_join(path, ents[i]->d_name);
            char *r = *rel ? hx_strfmt("%s/%s", rel, ents[i]->d_name) : strdup(ents[i]->d_name);
            struct stat st, lst;
            char d[65];
            if (!p || !r) rc = HX_ERR(HX_ENOMEM, "out of memory");
            else if (stat(p, &st) != 0 || lstat(p, &lst) != 0)
                rc = HX_ERR(HX_EIO, "%s: cannot stat: %s", p, strerror(errno));
            else if (S_ISDIR(st.st_mode) && !S_ISLNK(lst.st_mode)) rc = digest_tree(f, p, r); /* no link loops */
            else if (S_ISREG(st.st_mode) && (rc = hx_sha256_file(p, d)) == HX_OK) fprintf(f, "%s %s\n", r, d);
            free(p);
            free(r);
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

/* A directory's digest: SHA-256 of the sorted "relpath sha256" listing of
 * every file under it, so editing any file's bytes changes it. */
int hx_sha256_dir(const char *path, char out[65])
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return HX_ERR(HX_ENOMEM, "out of memory");
    int rc = digest_tree(f, path, "");
    fclose(f);
    if (rc == HX_OK) hx_sha256_hex(buf, len, out);
    free(buf);
    return rc;
}

int hx_sha256_path(const char *path, char out[65])
{
    struct stat st;
    if (stat(path, &st) != 0) return HX_ERR(HX_EIO, "%s: cannot stat: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return hx_sha256_dir(path, out);
    if (!S_ISREG(st.st_mode)) /* a device or FIFO never ends (/dev/zero) */
        return HX_ERR(HX_EIO, "%s: not a regular file or directory; cannot digest it", path);
    return hx_sha256_file(path, out);
}

void hx_progress_init(hx_progress *p, FILE *out, double interval_s)
{
    p->out = out;
    p->tty = isatty(fileno(out));
    p->start = p->last = hx_now();
    p->interval_s = interval_s;
}

void hx_progress_show(hx_progress *p, int force, const char *fmt, ...)
{
    double t = hx_now();
    double due = p->tty ? 0.1 : p->interval_s;
    if (!force && t - p->last < due) return;
    p->last = t;
    va_list ap;
    va_start(ap, fmt);
    if (p->tty) fputs("\r\033[K", p->out);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    if (!p->tty) fputc('\n', p->out);
    fflush(p->out);
}

void hx_progress_done(hx_progress *p)
{
    if (p->tty) fputc('\n', p->out);
    fflush(p->out);
}
