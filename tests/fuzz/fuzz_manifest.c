/* Fuzz target: experiment manifest YAML, through hx_manifest_parse (libyaml,
 * typed fields, defaults, validation, sweep expansion). Content hashes are
 * not computed: they digest the files the manifest names, and a fuzzed path
 * may name any file of this machine. */
#include "exp/manifest.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_manifest m;
    if (hx_manifest_parse("fuzz.yaml", (const char *)data, size, &m) < 0) return 0;
    hx_manifest_free(&m);
    return 0;
}
