/* bin/harness subcommands of the training stage: train and distill. */
#ifndef HX_TRAIN_TRAIN_CMDS_H
#define HX_TRAIN_TRAIN_CMDS_H

/* harness train|distill (--config CONFIG.json | --init-from DIR) --train SHARDS --tokens N [options]:
 * hx_train from the command line (see --help); distill requires --teacher.
 * Returns the process exit code. */
int hx_cmd_train(int argc, char **argv);

#endif
