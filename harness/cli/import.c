/* `harness import`: a llama.cpp GGUF file into a Hugging Face model
 * directory (model/gguf_llama.h hx_gguf_import). */
#include "core/args.h"         // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"         // defines: hx_cmd_import
#include "core/err.h"         // defines: hx_report
#include "model/gguf_llama.h" // defines: hx_gguf_import

#include <stdio.h>

int hx_cmd_import(int argc, char **argv)
{
    static const char *const dtypes[] = {"f32", "bf16", NULL};
    const char *gguf = NULL, *out = NULL;
    int dtype = 0;
    hx_arg args[] = {
        {"gguf", HX_ARG_STR, &gguf, "FILE", "GGUF file (version 2 or 3, general.architecture llama)", .required = 1},
        {"out", HX_ARG_STR, &out, "DIR", "model directory to write (config.json, model.safetensors, tokenizer.json)",
         .required = 1},
        {"dtype", HX_ARG_ENUM, &dtype, NULL, "dtype of the written weights", .names = dtypes},
        {NULL},
    };
    hx_cli cli = {"import",
                  "Converts a llama.cpp GGUF file into a Hugging Face directory: config.json from the llama.* keys,\n"
                  "every tensor dequantised (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K) under its\n"
                  "HF name with llama.cpp's Q/K row permutation undone, and tokenizer.json from the tokenizer.ggml.*\n"
                  "keys when they describe byte-level BPE (model gpt2; pre gpt-2, smollm, starcoder, llama-bpe,\n"
                  "qwen2 or default). A tokenizer that cannot be converted (SentencePiece) is reported and skipped.\n"
                  "A rope_freqs tensor (Llama 3.1) becomes rope_type llama3 with parameters fitted to its factors.",
                  args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    hx_cli_settings(&cli, stderr);
    int rc = hx_gguf_import(gguf, out, dtype ? HX_DT_BF16 : HX_DT_F32, stdout);
    return rc < 0 ? hx_report(rc) : 0;
}
