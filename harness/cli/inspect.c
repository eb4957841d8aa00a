/* `harness inspect`: what a model directory or safetensors file holds
 * (model/inspect.h). */
#include "core/args.h"      // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"      // defines: hx_cmd_inspect
#include "core/err.h"      // defines: hx_report
#include "model/inspect.h" // defines: hx_inspect

#include <stdio.h>

int hx_cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0;
    hx_arg args[] = {
        {"json", HX_ARG_FLAG, &json, "", "one JSON object instead of the text report", .set = 1},
        {"PATH", HX_ARG_POS, &path, NULL,
         "a Hugging Face model directory, a .safetensors file or a model.safetensors.index.json", .required = 1},
        {NULL},
    };
    hx_cli cli = {"inspect",
                  "Prints the config summary, the parameter count (total and non-embedding) and the tensor table (name,\n"
                  "dtype, shape). For a directory every tensor is also checked against config.json as the loader\n"
                  "checks it; mismatched shapes, missing and unexpected tensors are listed and the exit status is 1.",
                  args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    hx_cli_settings(&cli, stderr);
    int rc = hx_inspect(path, json, stdout);
    return rc < 0 ? hx_report(rc) : 0;
}
