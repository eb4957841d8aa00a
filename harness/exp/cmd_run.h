/* Entry point of `harness run` (experiment manifests). */
#ifndef HX_EXP_CMD_RUN_H
#define HX_EXP_CMD_RUN_H

/* `harness run MANIFEST [--dry-run] [--only ARM] [--resume] [--gflops X]`.
 * argv[0] is "run". Returns the exit code: 0 (dry run printed), 1 (invalid
 * manifest or error, message on stderr), 2 (usage error, unsupported
 * architecture, or execution not available). */
int hx_cmd_run(int argc, char **argv);

#endif
