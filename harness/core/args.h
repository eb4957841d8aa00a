/* The one command-line parser of bin/harness: each command describes its
 * options in a table of hx_arg (name, kind, destination, range, help), and
 * this parser reads argv into the destinations, refuses anything else, and
 * writes the command's --help and its resolved-settings table from the same
 * table. It sits in core so that both top floors use it: the command files
 * of harness/cli/ and `harness bench` (bench/bench_cmd.c); no code below
 * them sees argv. */
#ifndef HX_CORE_ARGS_H
#define HX_CORE_ARGS_H

#include <stdint.h>
#include <stdio.h>

typedef enum {
    HX_ARG_STR,    /* const char **: the value as given */
    HX_ARG_STRS,   /* hx_arg_strs *: repeatable, appended in order (at most .max) */
    HX_ARG_INT,    /* int *: hx_parse_count in [lo, hi] */
    HX_ARG_COUNT,  /* int64_t *: hx_parse_count (k/M/B/T suffixes) in [lo, hi] */
    HX_ARG_U64,    /* uint64_t *: decimal, no sign or suffix (seeds) */
    HX_ARG_DOUBLE, /* double *: finite, in [lo, hi] */
    HX_ARG_FLAG,   /* int *: set to .set when the option is given; takes no value */
    HX_ARG_ENUM,   /* int *: index of the value in .names */
    HX_ARG_INTS,   /* hx_arg_ints *: comma-separated integers, each in [lo, hi] */
    HX_ARG_POS,    /* const char **: the next positional argument (.name is its placeholder) */
    HX_ARG_REST,   /* hx_arg_strs *: every remaining positional argument */
} hx_arg_kind;

typedef struct {
    const char **v; /* caller's array of .max entries */
    int n, max;
} hx_arg_strs;

typedef struct {
    int *v; /* malloc'd by the parser; freed by hx_cli_free */
    int n;
} hx_arg_ints;

typedef struct {
    const char *name; /* option name without "--" (positional: its placeholder, e.g. "MANIFEST") */
    hx_arg_kind kind;
    void *dst;
    const char *meta; /* value placeholder in the usage ("DIR", "N"); NULL: derived from the kind */
    const char *help; /* one line; the default is appended from *dst unless the help says "default" */
    double lo, hi;    /* inclusive range of numeric kinds (both 0: any value the type holds) */
    const char *const *names; /* HX_ARG_ENUM: NULL-terminated accepted values */
    int set;                  /* HX_ARG_FLAG: value stored */
    int required;
} hx_arg;

typedef struct {
    const char *name;  /* the command ("train") */
    const char *about; /* paragraph printed under the usage line */
    hx_arg *args;      /* terminated by an entry with name NULL */
} hx_cli;

/* Parses argv (argv[0] is the command name) into the table's destinations.
 * Accepts "--name VALUE", "--name=VALUE", flags, "--" (the rest is
 * positional) and -h/--help (anywhere; prints the usage to stdout).
 * Refuses unknown options (naming the closest known one), a missing value,
 * a value out of range or not of the option's type (core/parse.h), a flag
 * given a value, surplus positional arguments and missing required ones.
 * Returns 0 when the command should go on; otherwise 1 with *exit_code set:
 * 0 after --help, 2 after a usage error (message and a pointer to --help on
 * stderr). */
int hx_cli_parse(hx_cli *c, int argc, char **argv, int *exit_code);

/* Prints "harness NAME: <message>" and the --help pointer to stderr;
 * returns 2, the usage-error exit code. */
int hx_cli_fail(const hx_cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes the usage: synopsis, about, one line per argument with its
 * placeholder, help and default (taken from *dst at the time of the call). */
void hx_cli_usage(const hx_cli *c, FILE *out);

/* Writes the resolved settings as a two-column table (setting, value), one
 * row per argument, to `out` (commands use stderr: stdout carries results). */
void hx_cli_settings(const hx_cli *c, FILE *out);

/* Frees what the parser allocated (HX_ARG_INTS arrays). */
void hx_cli_free(hx_cli *c);

#endif
