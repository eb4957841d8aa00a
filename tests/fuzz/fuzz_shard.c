/* Fuzz target: token shards, through hx_shard_open (header validation,
 * memory map) and hx_dataset_open on the directory holding the shard. Every
 * token of an accepted shard is read, by hx_shard_token and through
 * hx_dataset_read, which must only return ids below the shard's vocab_size. */
#include "data/shard.h"
#include "fuzz_util.h"

#include <sys/stat.h>

#define FZ_MAX_READ 4096 /* tokens read through the dataset */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[4200], path[4300];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/shards", fz_dir());
        snprintf(path, sizeof path, "%s/train-00000.hxs", dir);
        if (mkdir(dir, 0700) != 0) abort();
    }
    fz_write_file(path, data, size);
    hx_shard s;
    if (hx_shard_open(path, NULL, &s) == 0) {
        uint64_t sum = 0;
        for (uint64_t i = 0; i < s.n_tokens; i++) sum += hx_shard_token(&s, i);
        (void)sum;
        hx_shard_close(&s);
    }
    hx_dataset d;
    if (hx_dataset_open(dir, NULL, &d) == 0) {
        static int32_t out[FZ_MAX_READ];
        size_t n = d.n_tokens < FZ_MAX_READ ? (size_t)d.n_tokens : FZ_MAX_READ;
        if (hx_dataset_read(&d, 0, n, out) == 0)
            for (size_t i = 0; i < n; i++)
                if (out[i] < 0 || (uint32_t)out[i] >= d.shards[0].vocab_size) abort();
        if (d.n_tokens) hx_dataset_read(&d, d.n_tokens - 1, 1, out);
        hx_dataset_close(&d);
    }
    return 0;
}
