/* `harness tokenize`: a corpus into token shards (data/tokenize.h). */
#include "core/args.h"      // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"      // defines: hx_cmd_tokenize
#include "core/err.h"      // defines: hx_report
#include "data/tokenize.h" // defines: hx_tokenize_files, hx_ingest_opts

#include <stdint.h>
#include <stdio.h>

int hx_cmd_tokenize(int argc, char **argv)
{
    static const char *const policies[] = {"stop", "skip", NULL};
    const char *tok = NULL, *out = NULL, *prefix = "tokens", *inputs[4096];
    hx_arg_strs in = {inputs, 0, 4096};
    hx_ingest_opts opts = {.progress = stderr};
    int64_t shard_tokens = (int64_t)1 << 28, max_doc = 0;
    int on_error = 0;
    hx_arg args[] = {
        {"tokenizer", HX_ARG_STR, &tok, "PATH", "tokenizer.json", .required = 1},
        {"out", HX_ARG_STR, &out, "DIR", "shard directory", .required = 1},
        {"prefix", HX_ARG_STR, &prefix, "NAME", "shards are DIR/NAME-00000.hxs, ..."},
        {"text-field", HX_ARG_STR, &opts.text_field, "FIELD", "JSONL field holding the text (default \"text\")"},
        {"on-error", HX_ARG_ENUM, &on_error, "POLICY", "a malformed document stops the run or is skipped and counted",
         .names = policies},
        {"shard-tokens", HX_ARG_COUNT, &shard_tokens, "N", "tokens per shard", 1, 9e18},
        {"max-doc-bytes", HX_ARG_COUNT, &max_doc, "N", "longer documents are errors (default 0: no limit)", 0, 9e18},
        {"INPUT", HX_ARG_REST, &in, NULL, "text, JSONL, directories, archives (.tar[.gz|.zst|.xz], .gz, .zst, .xz)",
         .required = 1},
        {NULL},
    };
    hx_cli cli = {"tokenize",
                  "Encodes documents (.txt: one per file; .jsonl: one per line; directories recursively, sorted) into\n"
                  "token shards; each document ends with the tokenizer's EOS (or starts with BOS if it has no EOS).",
                  args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    opts.on_error = on_error ? HX_INGEST_SKIP : HX_INGEST_STOP;
    opts.max_doc_bytes = (size_t)max_doc;
    hx_cli_settings(&cli, stderr);
    int rc = hx_tokenize_files(tok, out, prefix, &opts, (uint64_t)shard_tokens, inputs, in.n);
    return rc < 0 ? hx_report(rc) : 0;
}
