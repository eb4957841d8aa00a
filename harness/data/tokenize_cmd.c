/* `harness tokenize`: the command-line front end of hx_tokenize_files. */
#include "data/data_cmds.h"

#include "core/err.h"
#include "core/parse.h"
#include "data/tokenize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(int rc)
{
    fprintf(rc ? stderr : stdout,
            "usage: harness tokenize --tokenizer PATH --out DIR [--prefix NAME] [--text-field FIELD]\n"
            "                        [--on-error stop|skip] [--shard-tokens N] [--max-doc-bytes N] INPUT...\n"
            "INPUT: .txt (one document per file), .jsonl (one per line), directories (recursive, sorted),\n"
            "       and these inside .tar/.tar.gz/.tar.zst/.tar.xz or compressed as .gz/.zst/.xz.\n"
            "Writes DIR/NAME-00000.hxs ... (NAME default \"tokens\"); each document ends with the\n"
            "tokenizer's EOS (or starts with BOS if it has no EOS). Default --shard-tokens 268435456.\n");
    return rc;
}

int hx_cmd_tokenize(int argc, char **argv)
{
    const char *tok = NULL, *out = NULL, *prefix = "tokens";
    hx_ingest_opts opts = {.progress = stderr};
    uint64_t shard_tokens = (uint64_t)1 << 28;
    int i;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(0);
        if (i + 1 >= argc) return usage(2);
        const char *v = argv[++i];
        int64_t n = 0;
        int rc = HX_OK;
        if (!strcmp(argv[i - 1], "--tokenizer")) tok = v;
        else if (!strcmp(argv[i - 1], "--out")) out = v;
        else if (!strcmp(argv[i - 1], "--prefix")) prefix = v;
        else if (!strcmp(argv[i - 1], "--text-field")) opts.text_field = v;
        else if (!strcmp(argv[i - 1], "--shard-tokens")) {
            if ((rc = hx_opt_i64("shard-tokens", v, 1, INT64_MAX, &n)) == HX_OK) shard_tokens = (uint64_t)n;
        } else if (!strcmp(argv[i - 1], "--max-doc-bytes")) {
            if ((rc = hx_opt_i64("max-doc-bytes", v, 0, INT64_MAX, &n)) == HX_OK) opts.max_doc_bytes = (size_t)n;
        } else if (!strcmp(argv[i - 1], "--on-error")) {
            static const char *const policies[] = {"stop", "skip", NULL};
            int k = 0;
            if ((rc = hx_opt_enum("on-error", v, policies, &k)) == HX_OK) opts.on_error = k ? HX_INGEST_SKIP : HX_INGEST_STOP;
        } else return usage(2);
        if (rc < 0) return hx_report(rc);
    }
    if (!tok || !out || i >= argc) return usage(2);
    int rc = hx_tokenize_files(tok, out, prefix, &opts, shard_tokens, (const char *const *)argv + i, argc - i);
    return rc < 0 ? hx_report(rc) : 0;
}
