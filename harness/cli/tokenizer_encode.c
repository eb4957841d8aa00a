/* `harness tokenizer-encode`: the token ids of a text, for debugging
 * (data/tokenizer.h). */
#include "core/args.h"       // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"       // defines: hx_cmd_tokenizer_encode
#include "core/err.h"       // defines: hx_report
#include "data/tokenizer.h" // defines: hx_tokenizer_load, hx_tokenizer_encode

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hx_cmd_tokenizer_encode(int argc, char **argv)
{
    const char *path = NULL, *text = NULL;
    int add_special = 1;
    hx_arg args[] = {
        {"tokenizer", HX_ARG_STR, &path, "PATH", "tokenizer.json", .required = 1},
        {"no-special", HX_ARG_FLAG, &add_special, "", "no post-processor tokens (BOS)", .set = 0},
        {"TEXT", HX_ARG_POS, &text, NULL, "the text", .required = 1},
        {NULL},
    };
    hx_cli cli = {"tokenizer-encode", "Prints the token ids of TEXT, space-separated, on one line.", args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    hx_cli_settings(&cli, stderr);
    hx_tokenizer *t;
    int rc = hx_tokenizer_load(path, &t);
    if (rc < 0) return hx_report(rc);
    int32_t *ids;
    size_t n;
    rc = hx_tokenizer_encode(t, text, strlen(text), add_special, &ids, &n);
    if (rc >= 0) {
        for (size_t k = 0; k < n; k++) printf(k ? " %d" : "%d", (int)ids[k]);
        printf("\n");
        free(ids);
    }
    hx_tokenizer_free(t);
    return rc < 0 ? hx_report(rc) : 0;
}
