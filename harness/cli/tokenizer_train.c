/* `harness tokenizer-train`: a byte-level BPE tokenizer.json trained on a
 * corpus (data/tokenizer.h, hx_bpe_train_files). */
#include "core/args.h"       // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"       // defines: hx_cmd_tokenizer_train
#include "core/err.h"       // defines: hx_report
#include "data/tokenizer.h" // defines: hx_bpe_train_files, hx_bpe_train_opts

#include <stdio.h>
#include <string.h>

enum { MAX_SPECIAL = 64, MAX_INPUTS = 4096 };

int hx_cmd_tokenizer_train(int argc, char **argv)
{
    int vocab = 0;
    const char *out = NULL, *bos = "<|begin_of_text|>", *text_field = NULL;
    const char *special[MAX_SPECIAL], *inputs[MAX_INPUTS];
    hx_arg_strs sp = {special, 0, MAX_SPECIAL}, in = {inputs, 0, MAX_INPUTS};
    hx_bpe_train_opts opts = {0};
    hx_arg args[] = {
        {"vocab", HX_ARG_INT, &vocab, "N", "vocabulary size: 256 bytes + merges + special tokens", 1, 1 << 24,
         .required = 1},
        {"out", HX_ARG_STR, &out, "PATH", "tokenizer.json to write", .required = 1},
        {"min-frequency", HX_ARG_INT, &opts.min_frequency, "N", "merges need at least N occurrences", 0, 2147483647},
        {"special", HX_ARG_STRS, &sp, "TOK", "special token (default <|begin_of_text|> <|end_of_text|>)"},
        {"bos", HX_ARG_STR, &bos, "TOK|none", "token the post-processor prepends"},
        {"text-field", HX_ARG_STR, &text_field, "FIELD", "JSONL field holding the text (default \"text\")"},
        {"INPUT", HX_ARG_REST, &in, NULL, "text, JSONL, directories and archives, as for harness tokenize",
         .required = 1},
        {NULL},
    };
    hx_cli cli = {"tokenizer-train", "Trains a byte-level BPE tokenizer (Llama-3 pre-tokenizer) and writes tokenizer.json.",
                  args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    if (sp.n == 0) {
        special[sp.n++] = "<|begin_of_text|>";
        special[sp.n++] = "<|end_of_text|>";
    }
    opts.bos_token = strcmp(bos, "none") ? bos : NULL;
    hx_cli_settings(&cli, stderr);
    int rc = hx_bpe_train_files(vocab, out, &opts, special, sp.n, text_field, inputs, in.n);
    return rc < 0 ? hx_report(rc) : 0;
}
