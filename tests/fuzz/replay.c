/* Replays a fuzz target's corpus without libFuzzer: calls the target's
 * LLVMFuzzerTestOneInput once per file of each directory (or file) given,
 * in name order, and prints how many inputs ran. Linked with the ordinary
 * (gcc, optionally SAN=1) build so `make test` needs no clang.
 * Usage: fuzz_<name> DIR|FILE... */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap && !(buf = realloc(buf, cap = cap * 2 + 65536))) abort();
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    fclose(f);
    /* An exact-size copy, so ASan catches a read one past the input. */
    uint8_t *in = malloc(len ? len : 1);
    if (!in) abort();
    memcpy(in, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(in, len);
    free(in);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

int main(int argc, char **argv)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long n = 0;
    for (int a = 1; a < argc; a++) {
        struct stat sb;
        if (stat(argv[a], &sb) != 0) {
            perror(argv[a]);
            return 1;
        }
        if (!S_ISDIR(sb.st_mode)) {
            if (run_file(argv[a]) < 0) return 1;
            n++;
            continue;
        }
        struct dirent **ents;
        int k = scandir(argv[a], &ents, NULL, by_name);
        if (k < 0) {
            perror(argv[a]);
            return 1;
        }
        for (int i = 0; i < k; i++) {
            char p[8192];
            snprintf(p, sizeof p, "%s/%s", argv[a], ents[i]->d_name);
            if (ents[i]->d_name[0] != '.' && stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
                if (run_file(p) < 0) return 1;
                n++;
            }
            free(ents[i]);
        }
        free(ents);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("replayed %ld inputs in %.2f s\n", n, (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec));
    return 0;
}
