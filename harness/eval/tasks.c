/* Loading multiple-choice task files and building lm-eval-style requests. */
#include "eval/tasks.h"

#include "core/err.h"
#include "core/parse.h"
#include "core/rng.h"
#include "core/util.h"
#include "eval/pystr.h"

#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const hx_task_kind_names[] = {"hellaswag", "arc", "winogrande", "piqa", "mmlu", "generic", NULL};

int hx_task_kind_parse(const char *name)
{
    if (!strcmp(name, "arc_easy") || !strcmp(name, "arc_challenge")) return HX_TASK_ARC;
    return hx_parse_enum(hx_task_kind_names, name);
}


char *hx_hellaswag_preprocess(const char *in)
{
    in += hx_py_lstrip(in, strlen(in)); /* text.strip() */
    size_t n = hx_py_rstrip(in, strlen(in));
    char *out = hx_malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (!strncmp(in + i, " [title]", 8) && i + 8 <= n) {
            out[o++] = '.';
            out[o++] = ' ';
            i += 8;
        } else if (in[i] == '[') {
            const char *close = memchr(in + i, ']', n - i);
            if (close) {
                i = (size_t)(close - in) + 1;
                continue;
            }
            out[o++] = in[i++];
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = '\0';
    /* Collapse "  " into " " (one pass, like Python's str.replace). */
    size_t w = 0;
    for (size_t r = 0; r < o; r++) {
        if (out[r] == ' ' && r + 1 < o && out[r + 1] == ' ') {
            out[w++] = ' ';
            r++;
            continue;
        }
        out[w++] = out[r];
    }
    out[w] = '\0';
    return out;
}

/* Field accessors that report file:line:field on failure. */
typedef struct {
    const char *path;
    long line;
} where;

static const char *get_str(json_t *o, const char *key, where w, int *rc)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) {
        if (*rc != HX_OK) return NULL; /* the first error wins */
        *rc = HX_ERR(HX_EFORMAT, "%s:%ld: field \"%s\" is missing or not a string", w.path, w.line, key);
        return NULL;
    }
    return json_string_value(v);
}

static int get_int(json_t *o, const char *key, where w, int *rc)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v) && json_integer_value(v) >= INT_MIN && json_integer_value(v) <= INT_MAX)
        return (int)json_integer_value(v);
    if (json_is_string(v)) {
        char *end;
        long x = strtol(json_string_value(v), &end, 10);
        if (*json_string_value(v) && !*end && x >= INT_MIN && x <= INT_MAX) return (int)x;
    }
    if (*rc == HX_OK) *rc = HX_ERR(HX_EFORMAT, "%s:%ld: field \"%s\" is missing or not an integer", w.path, w.line, key);
    return -1;
}

static int set_choices(hx_task_doc *d, json_t *arr, where w, const char *field)
{
    if (!json_is_array(arr) || json_array_size(arr) < 2)
        return HX_ERR(HX_EFORMAT, "%s:%ld: field \"%s\" must be an array of at least 2 strings", w.path, w.line,
                      field);
    d->n_choices = (int)json_array_size(arr);
    d->choices = hx_calloc((size_t)d->n_choices, sizeof(char *));
    if (!d->choices) return HX_ENOMEM;
    for (int i = 0; i < d->n_choices; i++) {
        json_t *c = json_array_get(arr, (size_t)i);
        if (!json_is_string(c))
            return HX_ERR(HX_EFORMAT, "%s:%ld: %s[%d] is not a string", w.path, w.line, field, i);
        d->choices[i] = strdup(json_string_value(c));
        if (!d->choices[i]) return HX_ERR(HX_ENOMEM, "out of memory");
    }
    return HX_OK;
}

static int parse_hellaswag(hx_task_doc *d, json_t *o, where w)
{
    int rc = HX_OK;
    const char *act = get_str(o, "activity_label", w, &rc), *a = get_str(o, "ctx_a", w, &rc);
    const char *b = get_str(o, "ctx_b", w, &rc);
    int label = get_int(o, "label", w, &rc);
    HX_TRY(rc);
    char *bcap = strdup(b);
    if (!bcap) return HX_ERR(HX_ENOMEM, "out of memory");
    /* Python str.capitalize(): first character upper, the rest lower. */
    for (char *p = bcap; *p; p++) *p = (char)(p == bcap ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
    char *raw = hx_strfmt("%s: %s %s", act, a, bcap);
    free(bcap);
    if (!raw) return HX_ENOMEM;
    d->text = hx_hellaswag_preprocess(raw);
    free(raw);
    if (!d->text) return HX_ENOMEM;
    HX_TRY(set_choices(d, json_object_get(o, "endings"), w, "endings"));
    for (int i = 0; i < d->n_choices; i++) {
        char *p = hx_hellaswag_preprocess(d->choices[i]);
        if (!p) return HX_ENOMEM;
        free(d->choices[i]);
        d->choices[i] = p;
    }
    d->gold = label;
    return HX_OK;
}

static int parse_arc(hx_task_doc *d, json_t *o, where w)
{
    int rc = HX_OK;
    json_t *q = json_object_get(o, "question"), *choices, *texts, *labels;
    const char *stem;
    if (json_is_object(q)) { /* raw AI2 layout: question.stem, question.choices[{text,label}] */
        stem = get_str(q, "stem", w, &rc);
        json_t *cs = json_object_get(q, "choices");
        if (!json_is_array(cs)) return HX_ERR(HX_EFORMAT, "%s:%ld: field \"question.choices\" is missing", w.path, w.line);
        texts = json_array();
        labels = json_array();
        for (size_t i = 0; i < json_array_size(cs); i++) {
            json_array_append(texts, json_object_get(json_array_get(cs, i), "text"));
            json_array_append(labels, json_object_get(json_array_get(cs, i), "label"));
        }
    } else { /* HF layout: question str, choices {text[], label[]} */
        stem = get_str(o, "question", w, &rc);
        choices = json_object_get(o, "choices");
        texts = json_incref(json_object_get(choices, "text"));
        labels = json_incref(json_object_get(choices, "label"));
    }
    const char *key = get_str(o, "answerKey", w, &rc);
    if (rc == HX_OK) rc = set_choices(d, texts, w, "choices.text");
    d->gold = -1;
    for (size_t i = 0; rc == HX_OK && i < json_array_size(labels); i++)
        if (json_is_string(json_array_get(labels, i)) && !strcmp(json_string_value(json_array_get(labels, i)), key))
            d->gold = (int)i;
    json_decref(texts);
    json_decref(labels);
    HX_TRY(rc);
    if (d->gold < 0) return HX_ERR(HX_EFORMAT, "%s:%ld: answerKey \"%s\" is not among the choice labels", w.path, w.line, key);
    d->text = hx_strfmt("Question: %s\nAnswer:", stem);
    return d->text ? HX_OK : HX_ENOMEM;
}

static int parse_winogrande(hx_task_doc *d, json_t *o, where w)
{
    int rc = HX_OK;
    const char *s = get_str(o, "sentence", w, &rc), *o1 = get_str(o, "option1", w, &rc);
    const char *o2 = get_str(o, "option2", w, &rc);
    int ans = get_int(o, "answer", w, &rc);
    HX_TRY(rc);
    const char *blank = strchr(s, '_');
    if (!blank) return HX_ERR(HX_EFORMAT, "%s:%ld: field \"sentence\" has no \"_\" blank", w.path, w.line);
    if (ans != 1 && ans != 2) return HX_ERR(HX_EFORMAT, "%s:%ld: field \"answer\" must be 1 or 2", w.path, w.line);
    int pre = (int)(blank - s);
    d->n_choices = 2;
    d->choices = hx_calloc(2, sizeof(char *));
    if (!d->choices) return HX_ENOMEM;
    d->choices[0] = hx_strfmt("%.*s%s", pre, s, o1);
    d->choices[1] = hx_strfmt("%.*s%s", pre, s, o2);
    const char *rest = blank + 1;
    rest += hx_py_lstrip(rest, strlen(rest)); /* sentence[idx:].strip() */
    size_t rl = hx_py_rstrip(rest, strlen(rest));
    d->suffix = hx_strfmt(" %.*s", (int)rl, rest);
    d->gold = ans - 1;
    return d->choices[0] && d->choices[1] && d->suffix ? HX_OK : HX_ENOMEM;
}

static int parse_piqa(hx_task_doc *d, json_t *o, where w)
{
    int rc = HX_OK;
    const char *goal = get_str(o, "goal", w, &rc), *s1 = get_str(o, "sol1", w, &rc), *s2 = get_str(o, "sol2", w, &rc);
    int label = get_int(o, "label", w, &rc);
    HX_TRY(rc);
    json_t *arr = json_pack("[ss]", s1, s2);
    rc = set_choices(d, arr, w, "sol1/sol2");
    json_decref(arr);
    HX_TRY(rc);
    d->gold = label;
    d->text = hx_strfmt("Question: %s\nAnswer:", goal);
    return d->text ? HX_OK : HX_ENOMEM;
}

static int parse_mmlu(hx_task_doc *d, json_t *o, where w)
{
    int rc = HX_OK;
    const char *q = get_str(o, "question", w, &rc), *subj = get_str(o, "subject", w, &rc);
    HX_TRY(rc);
    json_t *ans = json_object_get(o, "answer");
    if (json_is_string(ans) && strlen(json_string_value(ans)) == 1 && isupper((unsigned char)*json_string_value(ans)))
        d->gold = *json_string_value(ans) - 'A';
    else
        d->gold = get_int(o, "answer", w, &rc);
    HX_TRY(rc);
    hx_task_doc tmp = {0};
    rc = set_choices(&tmp, json_object_get(o, "choices"), w, "choices"); /* tmp is freed below on error too */
    if (rc == HX_OK && tmp.n_choices != 4) rc = HX_ERR(HX_EFORMAT, "%s:%ld: MMLU needs exactly 4 choices", w.path, w.line);
    /* doc_to_text: question.strip() + "\nA. c0\nB. c1\nC. c2\nD. c3\nAnswer:"; choices are the letters. */
    if (rc == HX_OK) q += hx_py_lstrip(q, strlen(q)); /* question.strip() */
    int ql = rc == HX_OK ? (int)hx_py_rstrip(q, strlen(q)) : 0;
    if (rc == HX_OK)
        d->text = hx_strfmt("%.*s\nA. %s\nB. %s\nC. %s\nD. %s\nAnswer:", ql, q, tmp.choices[0], tmp.choices[1],
                          tmp.choices[2], tmp.choices[3]);
    for (int i = 0; tmp.choices && i < tmp.n_choices; i++) free(tmp.choices[i]);
    free(tmp.choices);
    HX_TRY(rc);
    json_t *letters = json_pack("[ssss]", "A", "B", "C", "D");
    rc = set_choices(d, letters, w, "choices");
    json_decref(letters);
    d->subject = strdup(subj);
    return rc == HX_OK && d->text && d->subject ? rc : (rc ? rc : HX_ENOMEM);
}

static int parse_generic(hx_task_doc *d, json_t *o, where w)
{
    int rc = HX_OK;
    const char *ctx = get_str(o, "context", w, &rc);
    d->gold = get_int(o, "gold", w, &rc);
    HX_TRY(rc);
    HX_TRY(set_choices(d, json_object_get(o, "choices"), w, "choices"));
    d->text = strdup(ctx);
    return d->text ? HX_OK : HX_ERR(HX_ENOMEM, "out of memory");
}

static void doc_free(hx_task_doc *d)
{
    for (int i = 0; i < d->n_choices && d->choices; i++) free(d->choices[i]);
    free(d->choices);
    free(d->text);
    free(d->suffix);
    free(d->subject);
}

int hx_task_load(const char *path, hx_task_kind kind, hx_task_set *out)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    HX_TRY(hx_sha256_file(path, out->sha256));
    FILE *f = fopen(path, "r");
    if (!f) return HX_ERR(HX_EIO, "%s: cannot open task file", path);
    char *line = NULL;
    size_t cap = 0;
    int rc = HX_OK, alloc = 0;
    where w = {path, 0};
    while (rc == HX_OK && getline(&line, &cap, f) >= 0) {
        w.line++;
        const char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (!*p) continue;
        json_error_t jerr;
        json_t *o = json_loads(p, 0, &jerr);
        if (!json_is_object(o)) {
            rc = HX_ERR(HX_EFORMAT, "%s:%ld: not a JSON object: %s", path, w.line, o ? "" : jerr.text);
            json_decref(o);
            break;
        }
        if (out->n_docs == alloc) {
            alloc = alloc ? 2 * alloc : 64;
            hx_task_doc *nd = realloc(out->docs, (size_t)alloc * sizeof *nd);
            if (!nd) {
                rc = HX_ERR(HX_ENOMEM, "out of memory");
                json_decref(o);
                break;
            }
            out->docs = nd;
        }
        hx_task_doc *d = &out->docs[out->n_docs++];
        memset(d, 0, sizeof *d);
        switch (kind) {
        case HX_TASK_HELLASWAG: rc = parse_hellaswag(d, o, w); break;
        case HX_TASK_ARC: rc = parse_arc(d, o, w); break;
        case HX_TASK_WINOGRANDE: rc = parse_winogrande(d, o, w); break;
        case HX_TASK_PIQA: rc = parse_piqa(d, o, w); break;
        case HX_TASK_MMLU: rc = parse_mmlu(d, o, w); break;
        default: rc = parse_generic(d, o, w); break;
        }
        if (rc == HX_OK && (d->gold < 0 || d->gold >= d->n_choices))
            rc = HX_ERR(HX_EFORMAT, "%s:%ld: gold index %d is out of range for %d choices", path, w.line, d->gold,
                        d->n_choices);
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (rc == HX_OK && out->n_docs == 0) rc = HX_ERR(HX_EFORMAT, "%s: no documents", path);
    if (rc != HX_OK) hx_task_free(out);
    return rc;
}

void hx_task_free(hx_task_set *ts)
{
    for (int i = 0; i < ts->n_docs; i++) doc_free(&ts->docs[i]);
    free(ts->docs);
    memset(ts, 0, sizeof *ts);
}

static int utf8_chars(const char *s)
{
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Appends `s` to a growing buffer. */
typedef struct {
    char *p;
    size_t n, cap;
} sbuf;
static int sb_add(sbuf *b, const char *s)
{
    size_t l = strlen(s);
    if (b->n + l + 1 > b->cap) {
        size_t cap = (b->n + l + 1) * 2;
        char *np = realloc(b->p, cap);
        if (!np) return HX_ERR(HX_ENOMEM, "out of memory building a prompt");
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, l + 1);
    b->n += l;
    return HX_OK;
}

/* A rendered few-shot example: text + delimiter + gold answer. Winogrande
 * examples are the gold option's context followed by the suffix. */
static int render_example(sbuf *b, const hx_task_set *ts, const hx_task_doc *d, const char *delim)
{
    if (ts->kind == HX_TASK_WINOGRANDE) {
        HX_TRY(sb_add(b, d->choices[d->gold]));
        return sb_add(b, d->suffix);
    }
    HX_TRY(sb_add(b, d->text));
    HX_TRY(sb_add(b, delim));
    return sb_add(b, d->choices[d->gold]);
}

/* Chooses the few-shot documents for document i of ts (indices into src). */
static int pick_shots(const hx_task_set *ts, const hx_task_set *src, int i, const hx_prompt_opts *o, int *shots)
{
    int k = o->n_shot, n = 0;
    const hx_task_doc *d = &ts->docs[i];
    if (ts->kind == HX_TASK_MMLU) { /* first_n of the same subject */
        for (int j = 0; j < src->n_docs && n < k; j++)
            if ((src != ts || j != i) && !strcmp(src->docs[j].subject, d->subject)) shots[n++] = j;
    } else {
        uint32_t *perm = hx_malloc((size_t)src->n_docs * sizeof(uint32_t));
        if (!perm) return HX_ENOMEM;
        for (int j = 0; j < src->n_docs; j++) perm[j] = (uint32_t)j;
        hx_rng r;
        hx_rng_seed(&r, o->seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1)));
        hx_rng_shuffle_u32(&r, perm, (size_t)src->n_docs);
        for (int j = 0; j < src->n_docs && n < k; j++)
            if (src != ts || (int)perm[j] != i) shots[n++] = (int)perm[j];
        free(perm);
    }
    if (n < k)
        return HX_ERR(HX_EINVAL, "task: only %d few-shot documents available for %d-shot prompts", n, k);
    return HX_OK;
}

int hx_task_build_item(const hx_task_set *ts, int i, const hx_prompt_opts *o, hx_mc_item *item)
{
    memset(item, 0, sizeof *item);
    const hx_task_doc *d = &ts->docs[i];
    const char *delim = o->target_delimiter ? o->target_delimiter : " ";
    const char *fsd = o->fewshot_delimiter ? o->fewshot_delimiter : "\n\n";
    const hx_task_set *src = o->fewshot ? o->fewshot : ts;
    sbuf prefix = {0};
    int rc = sb_add(&prefix, "");
    if (rc == HX_OK && ts->kind == HX_TASK_MMLU) {
        char *header = hx_strfmt("The following are multiple choice questions (with answers) about %s.\n\n", d->subject);
        if (!header) rc = HX_ENOMEM;
        for (char *p = header; p && *p; p++)
            if (*p == '_') *p = ' ';
        if (header) rc = sb_add(&prefix, header);
        free(header);
    }
    if (rc == HX_OK && o->n_shot > 0) {
        int *shots = hx_malloc((size_t)o->n_shot * sizeof(int));
        rc = shots ? pick_shots(ts, src, i, o, shots) : HX_ENOMEM;
        for (int s = 0; rc == HX_OK && s < o->n_shot; s++) {
            rc = render_example(&prefix, src, &src->docs[shots[s]], delim);
            if (rc == HX_OK) rc = sb_add(&prefix, fsd);
        }
        free(shots);
    }
    item->n_choices = d->n_choices;
    item->gold = d->gold;
    item->req = hx_calloc((size_t)d->n_choices, sizeof(hx_ll_request));
    item->len_chars = hx_calloc((size_t)d->n_choices, sizeof(int));
    item->len_bytes = hx_calloc((size_t)d->n_choices, sizeof(int));
    if (!item->req || !item->len_chars || !item->len_bytes) rc = HX_ENOMEM;
    for (int c = 0; rc == HX_OK && c < d->n_choices; c++) {
        hx_ll_request *r = &item->req[c];
        if (ts->kind == HX_TASK_WINOGRANDE) { /* partial scoring */
            r->context = hx_strfmt("%s%s", prefix.p, d->choices[c]);
            r->continuation = strdup(d->suffix);
        } else {
            r->context = hx_strfmt("%s%s", prefix.p, d->text);
            r->continuation = hx_strfmt("%s%s", delim, d->choices[c]);
        }
        if (!r->context || !r->continuation) rc = HX_ERR(HX_ENOMEM, "out of memory building a prompt");
        item->len_chars[c] = utf8_chars(d->choices[c]);
        item->len_bytes[c] = (int)strlen(d->choices[c]);
    }
    free(prefix.p);
    if (rc != HX_OK) hx_mc_item_free(item);
    return rc;
}

void hx_mc_item_free(hx_mc_item *item)
{
    for (int c = 0; c < item->n_choices && item->req; c++) {
        free(item->req[c].context);
        free(item->req[c].continuation);
    }
    free(item->req);
    free(item->len_chars);
    free(item->len_bytes);
    memset(item, 0, sizeof *item);
}
