/* Fuzz target: multiple-choice task files (JSONL), through hx_task_load. The
 * first byte picks the layout (hellaswag, arc, winogrande, piqa, mmlu,
 * generic); the rest is the file. For an accepted set the requests of the
 * first documents are built zero-shot and one-shot (hx_task_build_item). */
#include "eval/tasks.h"
#include "fuzz_util.h"

#define FZ_MAX_DOCS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    hx_task_set ts;
    if (hx_task_load(fz_write("task.jsonl", data + 1, size - 1), (hx_task_kind)(data[0] % 6), &ts) < 0) return 0;
    for (int shot = 0; shot < 2; shot++) {
        const hx_prompt_opts o = {.n_shot = shot, .seed = 1234};
        for (int i = 0; i < ts.n_docs && i < FZ_MAX_DOCS; i++) {
            hx_mc_item item;
            if (hx_task_build_item(&ts, i, &o, &item) == 0) hx_mc_item_free(&item);
        }
    }
    hx_task_free(&ts);
    return 0;
}
