/* Optional interop test: a model directory written by hx_model_save (F32
 * sharded, BF16 single file, tied) loads in transformers with the same
 * weights, and so do pruned students (a width with hidden_size not a
 * multiple of the heads, which transformers 5.x must refuse as
 * hx_config_hf5_loadable says and 4.x must load; and a depth- and
 * head-pruned one, which every version loads), and transformers' logits of the
 * pruned students equal the harness's own (tools/check_io_interop.py).
 * Prints SKIP when Python or transformers is unavailable; without torch only
 * the configs are checked. */
#include "test_util.h"

#include "core/err.h"
#include "core/rng.h"
#include "minitron/prune.h"
#include "model/engine.h"
#include "model/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The harness's logits for ids 1..8 of the model saved in `dir`, loaded
 * back as any user would load it, to dir/harness_logits.f32 ([8, vocab]
 * float32), for the interop check to compare with transformers' own. */
static void write_logits(const char *dir)
{
    hx_model m;
    hx_workspace ws;
    if (hx_model_load(dir, &m) < 0) fail_msg("%s", hx_errmsg());
    assert_int_equal(hx_workspace_alloc(&ws, &m.cfg, 1, 8, HX_WS_INFER), HX_OK);
    int32_t ids[8];
    for (int i = 0; i < 8; i++) ids[i] = i + 1;
    assert_int_equal(hx_forward(&m, &ws, ids, NULL), HX_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/harness_logits.f32", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(ws.logits, sizeof(float), (size_t)8 * m.cfg.vocab_size, f), (size_t)8 * m.cfg.vocab_size);
    assert_int_equal(fclose(f), 0);
    hx_workspace_free(&ws);
    hx_model_free(&m);
}

static void test_transformers_loads_saved_models(void **state)
{
    (void)state;
    const char *py = getenv("HX_PYTHON") ? getenv("HX_PYTHON") : "python3"; /* e.g. a venv with transformers */
    char probe[600];
    snprintf(probe, sizeof probe, "command -v '%s' >/dev/null 2>&1", py);
    if (system(probe) != 0) {
        printf("SKIP: %s not found; transformers interop not checked\n", py);
        return;
    }
    char dir[] = "/tmp/hx_interop_XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *refs[] = {"tests/fixtures/io/llama-f32", "tests/fixtures/io/llama-f32", "tests/fixtures/io/llama-tied"};
    const hx_dtype dts[] = {HX_DT_F32, HX_DT_BF16, HX_DT_BF16};
    const uint64_t shard[] = {30000, 0, 0};
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' tools/check_io_interop.py", py);
    for (int k = 0; k < 3; k++) {
        hx_model m;
        char sub[64];
        snprintf(sub, sizeof sub, "%s/m%d", dir, k);
        if (hx_model_load(refs[k], &m) < 0) fail_msg("%s", hx_errmsg());
        assert_int_equal(hx_model_save(sub, &m, dts[k], shard[k]), HX_OK);
        hx_model_free(&m);
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s %s", refs[k], sub);
    }
    /* Pruned students of the F32 fixture (hidden 32, 4 heads of 16, 2 KV heads, 2 layers). */
    hx_model src;
    if (hx_model_load(refs[0], &src) < 0) fail_msg("%s", hx_errmsg());
    const hx_prune_targets targets[2] = {
        {.hidden_size = 30, .intermediate_size = 40},                      /* 30 % 4 != 0 */
        {.num_hidden_layers = 1, .num_attention_heads = 2, .hidden_size = 24}, /* depth + heads: 24 % 2 == 0 */
    };
    const int loadable[2] = {0, 1};
    for (int k = 0; k < 2; k++) {
        hx_rng g;
        hx_rng_seed(&g, 7 + (uint64_t)k);
        hx_prune_plan plan;
        hx_model dst;
        assert_int_equal(hx_prune_plan_random(&src.cfg, &targets[k], &g, &plan), HX_OK);
        assert_int_equal(hx_config_hf5_loadable(&plan.dst, NULL, 0), loadable[k]);
        assert_int_equal(hx_prune_apply(&src, &plan, NULL, &dst), HX_OK);
        char sub[64];
        snprintf(sub, sizeof sub, "%s/pruned%d", dir, k);
        assert_int_equal(hx_model_save(sub, &dst, k ? HX_DT_BF16 : HX_DT_F32, 0), HX_OK);
        write_logits(sub);
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " --pruned %s", sub);
        hx_model_free(&dst);
        hx_prune_plan_free(&plan);
    }
    hx_model_free(&src);
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " 2>&1");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[8192] = "", line[512];
    size_t used = 0;
    int ok = 0;
    while (fgets(line, sizeof line, p)) {
        size_t l = strlen(line);
        if (used + l < sizeof out) memcpy(out + used, line, l + 1), used += l;
        ok += !strncmp(line, "OK ", 3) || !strncmp(line, "REFUSED as expected", 19);
    }
    int st = pclose(p);
    if (st != 0) fail_msg("interop check failed:\n%s", out);
    printf("%s", out); /* OK / REFUSED / SKIP lines */
    if (!strstr(out, "SKIP: interop check needs transformers") && ok != 5)
        fail_msg("expected 5 OK / REFUSED lines (3 saved, 2 pruned):\n%s", out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transformers_loads_saved_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
