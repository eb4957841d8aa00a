/* Fuzz target: GGUF files through hx_gguf_open. Every metadata pair of an
 * accepted file is read with each typed getter (and every array element),
 * every tensor small enough is dequantised (hx_gguf_read_f32), and the llama
 * config mapping runs on it; a name lookup must find the tensor it came
 * from. */
#include "fuzz_util.h"
#include "model/gguf.h"
#include "model/gguf_llama.h"

#define FZ_MAX_READ (1u << 16) /* elements dequantised per tensor */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_gguf *g;
    if (hx_gguf_open(fz_write("in.gguf", data, size), &g) < 0) return 0;
    for (int i = 0; i < hx_gguf_n_kv(g); i++) {
        const hx_gguf_kv *kv = hx_gguf_kv_at(g, i), *arr;
        if (hx_gguf_find_kv(g, kv->key) != kv) abort();
        uint64_t u64;
        int64_t i64;
        uint32_t u32;
        int32_t i32;
        double f64;
        float f32;
        int b;
        const char *s;
        size_t len;
        hx_gguf_get_u64(g, kv->key, &u64);
        hx_gguf_get_i64(g, kv->key, &i64);
        hx_gguf_get_u32(g, kv->key, &u32);
        hx_gguf_get_i32(g, kv->key, &i32);
        hx_gguf_get_f64(g, kv->key, &f64);
        hx_gguf_get_f32(g, kv->key, &f32);
        hx_gguf_get_bool(g, kv->key, &b);
        if (hx_gguf_get_str(g, kv->key, &s, &len) == 1 && len && (s[0] == 1 && s[len - 1] == 2)) fz_dir();
        if (hx_gguf_get_arr(g, kv->key, HX_GGUF_I64, &arr) == 1)
            for (uint64_t k = 0; k < arr->n; k++) i64 += hx_gguf_arr_int(arr, k);
        if (hx_gguf_get_arr(g, kv->key, HX_GGUF_F64, &arr) == 1)
            for (uint64_t k = 0; k < arr->n; k++) f64 += hx_gguf_arr_float(arr, k);
        if (hx_gguf_get_arr(g, kv->key, HX_GGUF_STRING, &arr) == 1)
            for (uint64_t k = 0; k < arr->n; k++) len += arr->len[k] && arr->str[k][0];
    }
    static float f[FZ_MAX_READ];
    for (int i = 0; i < hx_gguf_n_tensors(g); i++) {
        const hx_gguf_tensor *t = hx_gguf_tensor_at(g, i);
        if (hx_gguf_find_tensor(g, t->name) != t) abort();
        if (t->numel <= FZ_MAX_READ) hx_gguf_read_f32(g, t, f, (size_t)t->numel);
    }
    hx_config c;
    hx_gguf_llama_config(g, &c);
    hx_gguf_close(g);
    return 0;
}
