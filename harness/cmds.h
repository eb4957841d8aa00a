/* Subcommand entry points of bin/harness. Each takes the arguments after the
 * subcommand name (argv[0] is the subcommand) and returns a process exit code. */
#ifndef HX_CMDS_H
#define HX_CMDS_H

typedef int (*hx_cmd_fn)(int argc, char **argv);

typedef struct {
    const char *name;
    hx_cmd_fn fn;
    const char *summary;
} hx_cmd;

#endif
