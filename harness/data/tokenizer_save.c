/* Saving a tokenizer: writes the tokenizer.json text it was built from (the
 * loaded file, or the trainer's output), so save -> load is lossless and keeps
 * the SHA-256 recorded in shards and results. */
#include "data/tokenizer_internal.h"

#include "core/err.h"
#include "core/util.h"

int hx_tokenizer_save(const hx_tokenizer *t, const char *path)
{
    int rc = hx_write_file_atomic(path, t->json, t->json_len);
    return rc < 0 ? hx_adderr(rc, "saving tokenizer.json") : HX_OK;
}
