/* `harness make-corpus-task`: the embedded corpus's multiple-choice task
 * (eval/corpus_task.h) written to a JSONL file. */
#include "core/args.h"         // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"         // defines: hx_cmd_make_corpus_task
#include "core/err.h"         // defines: hx_report
#include "core/util.h"        // defines: hx_write_file_atomic, hx_sha256_hex
#include "eval/corpus_task.h" // defines: hx_corpus_task_build

#include <stdio.h>
#include <stdlib.h>

int hx_cmd_make_corpus_task(int argc, char **argv)
{
    const char *valid = NULL, *out = NULL;
    hx_corpus_task_opts o = {4, 300, 1234, 0};
    hx_arg args[] = {
        {"valid", HX_ARG_STR, &valid, "PATH", "validation split (any ingest input)", .required = 1},
        {"out", HX_ARG_STR, &out, "FILE.jsonl", "the task (layout generic: context, choices, gold)", .required = 1},
        {"choices", HX_ARG_INT, &o.choices, "N", "candidates per item", 2, 26},
        {"n", HX_ARG_INT, &o.n, "N", "items", 1, 1 << 30},
        {"seed", HX_ARG_U64, &o.seed, NULL, "distractor draw seed"},
        {"scrambled", HX_ARG_FLAG, &o.scrambled, "",
         "distractors are the true continuation's words in another order (the corpus_order task)", .set = 1},
        {NULL},
    };
    hx_cli cli = {"make-corpus-task",
                  "Builds the embedded corpus's multiple-choice task from the validation split: the first half of a\n"
                  "KJV verse or of a Jargon entry's first sentence, its true continuation and distractor\n"
                  "continuations of similar length from other documents. Same inputs and seed, same bytes.",
                  args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    hx_cli_settings(&cli, stderr);
    char *buf;
    size_t len;
    int n;
    int rc = hx_corpus_task_build(valid, &o, &buf, &len, &n);
    if (rc < 0) return hx_report(rc);
    rc = hx_write_file_atomic(out, buf, len);
    char sha[65];
    hx_sha256_hex(buf, len, sha);
    free(buf);
    if (rc < 0) return hx_report(rc);
    printf("make-corpus-task: %d items, %d choices (chance %.2f%%), seed %llu -> %s (%zu bytes, sha256 %s)\n", n,
           o.choices, 100.0 / o.choices, (unsigned long long)o.seed, out, len, sha);
    return 0;
}
