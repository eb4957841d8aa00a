/* Fuzz target: a model directory's config.json, through hx_config_load (JSON,
 * HF defaults, RoPE blocks, hx_config_validate). An accepted config is
 * written back with hx_config_json and its parameter count computed. */
#include "fuzz_util.h"
#include "model/model.h"
#include "model/weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_config cfg;
    if (hx_config_load(fz_write("config.json", data, size), &cfg) < 0) return 0;
    free(hx_config_json(&cfg));
    (void)hx_config_param_count(&cfg);
    return 0;
}
