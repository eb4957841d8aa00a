/* Fuzz target: experiment manifest YAML, through hx_manifest_parse (libyaml,
 * typed fields, defaults, validation, sweep expansion). For an accepted
 * manifest the content hash of every artifact of every arm is computed
 * (without file digests: the paths it names need not exist). */
#include "exp/manifest.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_manifest m;
    if (hx_manifest_parse("fuzz.yaml", (const char *)data, size, &m) < 0) return 0;
    char hash[65];
    hx_manifest_hash(&m, NULL, HX_ART_TEACHER, 0, hash);
    for (int a = 0; a < m.n_arms; a++)
        for (hx_artifact w = HX_ART_IMPORTANCE; w <= HX_ART_ARM; w++) hx_manifest_hash(&m, &m.arms[a], w, 0, hash);
    hx_manifest_free(&m);
    return 0;
}
