/* Fuzz target: tokenizer.json, through hx_tokenizer_load. An accepted
 * tokenizer must have at most 2^24 ids; it encodes a fixed multilingual text
 * (with special tokens), decodes the ids back, and looks up a word. */
#include "data/tokenizer.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_tokenizer *t;
    if (hx_tokenizer_load(fz_write("tokenizer.json", data, size), &t) < 0) return 0;
    if (hx_tokenizer_vocab_size(t) > 1 << 24) abort();
    static const char text[] = "Hello, world! It's 2024: naïve café, 日本語 and  spaces\n\ttabs 12345 <s></s>";
    int32_t *ids;
    size_t n;
    if (hx_tokenizer_encode(t, text, sizeof text - 1, 1, &ids, &n) == 0) {
        char *back;
        size_t len;
        for (int skip = 0; skip < 2; skip++)
            if (hx_tokenizer_decode(t, ids, n, skip, &back, &len) == 0) free(back);
        free(ids);
    }
    (void)hx_tokenizer_token_id(t, " world");
    (void)hx_tokenizer_adds_bos(t);
    hx_tokenizer_free(t);
    return 0;
}
