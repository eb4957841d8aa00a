/* Subcommands of the evaluation stage: `harness eval` (cmd_eval.c) and
 * `harness make-corpus-task` (corpus_task.c). */
#ifndef HX_EVAL_EVAL_CMDS_H
#define HX_EVAL_EVAL_CMDS_H

#include "eval/evaluate.h"

/* Parses a --task spec NAME=LAYOUT:PATH[:NSHOT[:LIMIT]] into t (name and
 * path point into `buf`, a modifiable copy the caller keeps alive; the other
 * fields of t are left as they were). LAYOUT as hx_task_kind_parse; PATH
 * must not contain ':'; NSHOT (default 0) and LIMIT (default 0 = all) are
 * decimal integers >= 0. Errors: HX_EINVAL naming the spec and what is
 * wrong (the name itself is checked later by hx_evaluator_open). */
int hx_eval_parse_task(char *buf, hx_eval_task *t);

/* `harness eval`: see --help. Exit codes: 0 ok, 1 error, 2 usage. */
int hx_cmd_eval(int argc, char **argv);

/* `harness make-corpus-task`: see --help (corpus_task.h). */
int hx_cmd_make_corpus_task(int argc, char **argv);

#endif
