/* The commands of bin/harness, one file each in harness/cli/ (and `harness
 * bench` in bench/bench_cmd.c, beside cli/ on the top floor). Each takes
 * the arguments after `harness` (argv[0] is the command's name), parses them
 * with cli/args.h, prints its resolved settings to stderr, calls the stage's
 * library operation and returns the process exit code: 0 done, 1 error
 * (message on stderr), 2 usage error. */
#ifndef HX_CLI_CMDS_H
#define HX_CLI_CMDS_H

typedef int (*hx_cmd_fn)(int argc, char **argv);

typedef struct {
    const char *name;
    hx_cmd_fn fn;
    const char *summary;
} hx_cmd;

int hx_cmd_run(int argc, char **argv);              /* cli/run.c */
int hx_cmd_plot(int argc, char **argv);             /* cli/plot.c */
int hx_cmd_eval(int argc, char **argv);             /* cli/eval.c */
int hx_cmd_importance(int argc, char **argv);       /* cli/importance.c */
int hx_cmd_prune(int argc, char **argv);            /* cli/prune.c */
int hx_cmd_search(int argc, char **argv);           /* cli/search.c */
int hx_cmd_train(int argc, char **argv);            /* cli/train.c: train and distill */
int hx_cmd_tokenize(int argc, char **argv);         /* cli/tokenize.c */
int hx_cmd_tokenizer_train(int argc, char **argv);  /* cli/tokenizer_train.c */
int hx_cmd_tokenizer_encode(int argc, char **argv); /* cli/tokenizer_encode.c */
int hx_cmd_make_corpus_task(int argc, char **argv); /* cli/make_corpus_task.c */
int hx_cmd_inspect(int argc, char **argv);          /* cli/inspect.c */
int hx_cmd_import(int argc, char **argv);           /* cli/import.c */
int hx_cmd_export(int argc, char **argv);           /* cli/export.c */

#endif
