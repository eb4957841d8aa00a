/* Fuzz target: safetensors headers and index files, through hx_st_open.
 * An input starting with '{' is a model.safetensors.index.json placed beside
 * two valid shards (written once by hx_st_write); any other input is a
 * .safetensors file. Every tensor of an accepted file is then looked up by
 * name and read (hx_st_read_f32, and hx_st_read_i32 for integer dtypes). */
#include "fuzz_util.h"
#include "model/safetensors.h"

#include <sys/stat.h>

#define FZ_MAX_READ (1u << 16) /* elements read per tensor */

/* <scratch>/idx holding model-0000k-of-00002.safetensors (tensors a, b, c). */
static const char *index_dir(void)
{
    static char dir[4200];
    if (dir[0]) return dir;
    snprintf(dir, sizeof dir, "%s/idx", fz_dir());
    static const float fa[6] = {1, 2, 3, 4, 5, 6}, fb[4] = {-1, 0.5f, 0, 8};
    static const int32_t ic[3] = {7, -7, 1 << 30};
    const hx_st_entry e[3] = {
        {"a", fa, HX_DT_F32, HX_DT_F32, 2, {2, 3}},
        {"b", fb, HX_DT_F32, HX_DT_BF16, 1, {4}},
        {"c", ic, HX_DT_I32, HX_DT_I32, 1, {3}},
    };
    if (mkdir(dir, 0700) != 0 || hx_st_write(dir, NULL, e, 3, 24) < 0) abort();
    return dir;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4300];
    if (size && data[0] == '{') {
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", index_dir());
        fz_write_file(path, data, size);
    } else {
        snprintf(path, sizeof path, "%s", fz_write("in.safetensors", data, size));
    }
    hx_st *st;
    if (hx_st_open(path, &st) < 0) return 0;
    static float f[FZ_MAX_READ];
    static int32_t i32[FZ_MAX_READ];
    for (int i = 0; i < hx_st_count(st); i++) {
        const hx_st_tensor *t = hx_st_get(st, i);
        if (hx_st_find(st, t->name) != t) abort();
        size_t n = hx_st_numel(t);
        if (n > FZ_MAX_READ) continue;
        hx_st_read_f32(st, t, f, n);
        if (t->dtype == HX_DT_I32 || t->dtype == HX_DT_I64) hx_st_read_i32(st, t, i32, n);
    }
    hx_st_close(st);
    return 0;
}
