/* Optional interop test: a model directory written by hx_model_save (F32
 * sharded, BF16 single file, tied) loads in transformers with the same
 * weights (tools/check_io_interop.py). Prints SKIP when Python, torch or
 * transformers is unavailable. */
#include "test_util.h"

#include "core/err.h"
#include "model/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_transformers_loads_saved_models(void **state)
{
    (void)state;
    if (system("command -v python3 >/dev/null 2>&1") != 0) {
        printf("SKIP: python3 not found; transformers interop not checked\n");
        return;
    }
    char dir[] = "/tmp/hx_interop_XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *refs[] = {"tests/fixtures/io/llama-f32", "tests/fixtures/io/llama-f32", "tests/fixtures/io/llama-tied"};
    const hx_dtype dts[] = {HX_DT_F32, HX_DT_BF16, HX_DT_BF16};
    const uint64_t shard[] = {30000, 0, 0};
    char cmd[1024] = "python3 tools/check_io_interop.py";
    for (int k = 0; k < 3; k++) {
        hx_model m;
        char sub[64];
        snprintf(sub, sizeof sub, "%s/m%d", dir, k);
        if (hx_model_load(refs[k], &m) < 0) fail_msg("%s", hx_errmsg());
        assert_int_equal(hx_model_save(sub, &m, dts[k], shard[k]), HX_OK);
        hx_model_free(&m);
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s %s", refs[k], sub);
    }
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " 2>&1");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[8192] = "", line[512];
    size_t used = 0;
    while (fgets(line, sizeof line, p)) {
        size_t l = strlen(line);
        if (used + l < sizeof out) memcpy(out + used, line, l + 1), used += l;
    }
    int st = pclose(p);
    const char *skip = strstr(out, "SKIP:");
    if (skip) {
        printf("%s", skip);
    } else {
        if (st != 0) fail_msg("interop check failed:\n%s", out);
        int ok = 0;
        for (const char *q = out; (q = strstr(q, "OK ")); q++) ok++;
        if (ok != 3) fail_msg("expected 3 OK lines:\n%s", out);
    }
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
