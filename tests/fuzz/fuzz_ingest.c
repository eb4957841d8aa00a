/* Fuzz target: corpus ingestion (plain text, JSONL, tar, compressed), through
 * hx_ingest_open / hx_ingest_next. The first byte picks the file name suffix
 * (which decides how the file is read) and the error policy; the rest is the
 * file. Documents are read to the end or the first error, with a small
 * max_doc_bytes so the too-large path is reachable; reading stops after
 * FZ_MAX_INPUT decompressed bytes (a small archive may expand to gigabytes). */
#include "data/ingest.h"
#include "fuzz_util.h"

#define FZ_MAX_INPUT (16u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"in.jsonl", "in.txt",      "in.tar",    "in.jsonl.gz", "in.tar.gz",
                                        "in.tgz",   "in.jsonl.zst", "in.tar.zst", "in.txt.xz",   "in.ndjson.bz2",
                                        "in.tzst",  "in.jsonl.lz4"};
    const size_t n_names = sizeof names / sizeof *names;
    if (size == 0) return 0;
    const char *path = fz_write(names[data[0] % n_names], data + 1, size - 1);
    const hx_ingest_opts opts = {.on_error = data[0] / n_names % 2 ? HX_INGEST_SKIP : HX_INGEST_STOP,
                                 .max_doc_bytes = 4096};
    hx_ingest *it;
    if (hx_ingest_open(&path, 1, &opts, &it) == 0) {
        hx_doc doc;
        while (hx_ingest_next(it, &doc) > 0 && hx_ingest_stats_of(it)->input_bytes < FZ_MAX_INPUT)
            if (hx_utf8_valid_prefix(doc.text, doc.len) != doc.len) abort(); /* documents are valid UTF-8 */
        hx_ingest_close(it);
    }
    unlink(path);
    return 0;
}
