/* Multiple-choice tasks read from local JSONL files in the public field
 * layouts (HellaSwag, ARC-Easy/Challenge, Winogrande, PIQA, MMLU, and a
 * generic layout), turned into log-likelihood requests the way EleutherAI's
 * lm-evaluation-harness builds them (formats-and-ecosystem.md §3). */
#ifndef HX_EVAL_TASKS_H
#define HX_EVAL_TASKS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    HX_TASK_HELLASWAG,
    HX_TASK_ARC,        /* arc_easy and arc_challenge share a layout */
    HX_TASK_WINOGRANDE, /* partial scoring: one context per option, shared continuation */
    HX_TASK_PIQA,
    HX_TASK_MMLU,
    HX_TASK_GENERIC,    /* {"context": str, "choices": [str...], "gold": int} */
} hx_task_kind;

/* Layout names indexed by hx_task_kind, NULL-terminated. */
extern const char *const hx_task_kind_names[];

/* Parses a task layout name: hellaswag, arc_easy, arc_challenge, arc,
 * winogrande, piqa, mmlu, generic. Returns -1 if unknown. */
int hx_task_kind_parse(const char *name);

/* One document: its question text (doc_to_text), choice texts
 * (doc_to_choice) and the gold index. For Winogrande, `text` is unused and
 * `choices` are the two options filled into the sentence prefix; `suffix` is
 * the shared continuation. */
typedef struct {
    char *text;
    char **choices;
    int n_choices;
    int gold;
    char *suffix;  /* Winogrande only */
    char *subject; /* MMLU only: the subject, e.g. "high_school_physics" */
} hx_task_doc;

typedef struct {
    hx_task_kind kind;
    hx_task_doc *docs;
    int n_docs;
    char sha256[65]; /* of the task file's bytes */
} hx_task_set;

/* Loads a JSONL task file. Errors (HX_EIO, HX_EFORMAT) name the file, the
 * line and the missing or mistyped field. */
int hx_task_load(const char *path, hx_task_kind kind, hx_task_set *out);
void hx_task_free(hx_task_set *ts);

/* One log-likelihood request: score `continuation` given `context`. */
typedef struct {
    char *context;
    char *continuation;
} hx_ll_request;

/* A document's requests, one per choice, plus what the metrics need. */
typedef struct {
    hx_ll_request *req; /* [n_choices] */
    int n_choices;
    int gold;
    int *len_chars; /* [n_choices] choice length in Unicode code points (acc_norm) */
    int *len_bytes; /* [n_choices] choice length in UTF-8 bytes (acc_bytes) */
} hx_mc_item;

/* Prompt settings. target_delimiter defaults to " ", fewshot_delimiter to
 * "\n\n" (lm-eval defaults). Few-shot examples are drawn without replacement
 * from `fewshot` (NULL: from the task itself, never the document being
 * scored) with a generator seeded by `seed` per document; MMLU takes the
 * first n_shot documents of the same subject in file order (lm-eval's
 * first_n sampler) and prepends the subject header. */
typedef struct {
    int n_shot;
    uint64_t seed;
    const char *target_delimiter;
    const char *fewshot_delimiter;
    const hx_task_set *fewshot;
} hx_prompt_opts;

/* Builds the requests of document `i`. Errors: HX_ENOMEM, HX_EINVAL (not
 * enough few-shot documents). */
int hx_task_build_item(const hx_task_set *ts, int i, const hx_prompt_opts *o, hx_mc_item *item);
void hx_mc_item_free(hx_mc_item *item);

/* HellaSwag text clean-up (lm-eval `preprocess`): strip, " [title]" -> ". ",
 * drop "[...]" spans, collapse double spaces. Returns a malloc'd string. */
char *hx_hellaswag_preprocess(const char *s);

#endif
