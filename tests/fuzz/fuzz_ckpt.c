/* Fuzz target: checkpoint state. The first byte picks the file: even, the
 * rest is trainer_state.json read by hx_ckpt_read_state; odd, it is the
 * COMPLETE marker checked (with re-hashing) by hx_ckpt_check, in a checkpoint
 * directory that also holds config.json = "{}\n" (sha256 ca3d163b...). */
#include "fuzz_util.h"
#include "train/ckpt.h"

#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[4200];
    char path[4300];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/step-00000001", fz_dir());
        snprintf(path, sizeof path, "%s/config.json", dir);
        if (mkdir(dir, 0700) != 0) abort();
        fz_write_file(path, (const uint8_t *)"{}\n", 3);
    }
    if (size == 0) return 0;
    int state = data[0] % 2 == 0;
    snprintf(path, sizeof path, "%s/%s", dir, state ? "trainer_state.json" : "COMPLETE");
    fz_write_file(path, data + 1, size - 1);
    if (state) {
        hx_train_state st;
        hx_ckpt_read_state(dir, &st);
        hx_train_state_clear(&st);
    } else {
        hx_ckpt_check(dir, 1);
    }
    unlink(path);
    return 0;
}
