/* `harness export`: a Hugging Face model directory into a llama.cpp GGUF
 * file (model/gguf_llama.h hx_gguf_export). */
#include "core/args.h"         // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"         // defines: hx_cmd_export
#include "core/err.h"         // defines: hx_report
#include "cpu/quant.h"        // defines: HX_GGML_F32, HX_GGML_F16, HX_GGML_BF16, HX_GGML_Q8_0
#include "model/gguf_llama.h" // defines: hx_gguf_export

#include <stdio.h>

int hx_cmd_export(int argc, char **argv)
{
    static const char *const types[] = {"f32", "f16", "bf16", "q8_0", NULL};
    static const uint32_t ggml[] = {HX_GGML_F32, HX_GGML_F16, HX_GGML_BF16, HX_GGML_Q8_0};
    const char *model = NULL, *gguf = NULL;
    int type = 0;
    hx_arg args[] = {
        {"model", HX_ARG_STR, &model, "DIR", "Hugging Face model directory (llama or mistral config)", .required = 1},
        {"gguf", HX_ARG_STR, &gguf, "FILE", "GGUF file to write (version 3)", .required = 1},
        {"type", HX_ARG_ENUM, &type, NULL, "type of the 2-D weights (norms are always F32)", .names = types},
        {NULL},
    };
    hx_cli cli = {"export",
                  "Writes a model directory as a llama.cpp GGUF v3 file: llama.* metadata from config.json, the\n"
                  "tensors under llama.cpp's names with the Q/K row permutation of its converter, Q8_0 as blocks of\n"
                  "32 with an f16 scale max|x|/127, and the tokenizer.ggml.* keys from tokenizer.json when it is\n"
                  "byte-level BPE with a pre-tokenizer llama.cpp knows (otherwise they are left out, reported).\n"
                  "With q8_0, a weight whose rows are not a multiple of 32 long (pruned widths) is written as F16.\n"
                  "rope_type llama3 is written as llama.cpp's rope_freqs tensor; a Mistral sliding window is refused.",
                  args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    hx_cli_settings(&cli, stderr);
    int rc = hx_gguf_export(model, gguf, ggml[type], stdout);
    return rc < 0 ? hx_report(rc) : 0;
}
