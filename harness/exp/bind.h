/* A YAML-to-struct binder over libyaml's document API. A struct is described
 * once by a table of fields (key, kind, offset, default, range); the binder
 * fills defaults, applies mapping nodes onto the struct with strict typing and
 * "<file>:<line>:<col>: <path>: <what>" errors (unknown keys get the closest
 * known key suggested), records where each value was set, reads `sweep:`
 * mappings of field paths and walks the key paths a table accepts. Every
 * string and list it creates lives in a pool freed at once. */
#ifndef HX_EXP_BIND_H
#define HX_EXP_BIND_H

#include <stddef.h>
#include <yaml.h>

typedef enum {
    K_INT,      /* int */
    K_COUNT,    /* int64_t, accepts k/M/B/T suffixes and exponents: 60k, 1.8B, 94e9 */
    K_SEED,     /* uint64_t */
    K_DOUBLE,   /* double */
    K_FLOAT,    /* float */
    K_BOOL,     /* int 0/1 */
    K_ENUM,     /* enum stored as int; `names` is NULL-terminated */
    K_STR,      /* const char * (pool) */
    K_CSTR,     /* char[bufsize], restricted to `names` */
    K_STRLIST,  /* int count at off_n, const char ** at off; a scalar is a one-item list */
    K_INTLIST,  /* int count at off_n, int * at off */
    K_SECTION,  /* mapping applied with `sub` onto base+off */
    K_LIST,     /* sequence of mappings: count at off_n, elements of elem_size at off */
    K_INLINE,   /* the fields of `sub` (at base+off) are accepted directly in this mapping */
    K_DEFER,    /* handled by the caller (arms, sweep, the arm-level sections at the root) */
} hx_bind_kind;

struct hx_bind_table;
typedef struct {
    const char *key;
    hx_bind_kind k;
    size_t off, off_n;
    const char *def;            /* default as text; NULL = zero/empty */
    double lo, hi;              /* inclusive range for numbers (when lo < hi) */
    int lo_open;                /* 1: value must be > lo */
    const char *const *names;   /* K_ENUM / K_CSTR */
    const struct hx_bind_table *sub; /* K_SECTION / K_LIST / K_INLINE */
    size_t elem_size;           /* K_LIST; K_CSTR buffer size */
    int required;
    int is_path;                /* strings naming files: canonicalised as their digest (exp/canon.h) */
} hx_bind_field;

typedef struct hx_bind_table {
    const hx_bind_field *f;
    int n;
} hx_bind_table;

#define TABLE(name, arr) static const hx_bind_table name = {arr, (int)(sizeof arr / sizeof arr[0])}
#define NONE 0, 0, 0
#define INF 1e300

/* Where a value was set. */
typedef struct {
    char path[96];  /* arm-relative ("kd.temperature") or root ("teacher.config.hidden_size") */
    char disp[128]; /* as shown in messages ("arms[2].kd.temperature", "sweep.kd.temperature[1]") */
    int line, col;  /* 1-based */
    int top;        /* 1: set by a root-level section inherited by the arm */
} hx_bind_mark;

typedef struct {
    int n, cap;
    hx_bind_mark *v;
} hx_bind_marks;

/* The pool of one parsed document and the marks of its root. */
typedef struct {
    void **ptrs;
    int n, cap;
    hx_bind_marks root_marks;
} hx_bind_priv;

/* The parsing context. */
typedef struct {
    const char *file;
    yaml_document_t *doc;
    hx_bind_priv *pv;
    hx_bind_marks *ms; /* where values applied now are recorded */
    int top;           /* recording flag for inherited root sections */
    char disp[256];    /* field path as shown in messages, e.g. "arms[2].kd." */
    size_t rel;        /* offset in disp where the path recorded in marks starts */
} hx_bind_ctx;

/* One axis of a sweep: a field path and the sequence of its values. */
typedef struct {
    char path[96];             /* arm-relative field path */
    char where[32];            /* "sweep" or "arms[2].sweep", for messages */
    const yaml_node_t *values; /* a sequence */
    const yaml_node_t *key;
} hx_bind_sweep_axis;

/* A zero-terminated copy of the first `n` bytes of `s` (resp. of all of `s`)
 * in the pool `p`. Returns NULL when out of memory. */
char *hx_bind_pstrndup(hx_bind_priv *p, const char *s, size_t n);
/* `bytes` zeroed bytes in the pool `p` (NULL when out of memory). */
void *hx_bind_palloc(hx_bind_priv *p, size_t bytes);
char *hx_bind_pstrdup(hx_bind_priv *p, const char *s);

/* Frees every allocation of the pool `p`, its root marks and `p` itself;
 * NULL is a no-op. */
void hx_bind_priv_free(hx_bind_priv *p);

/* Records that `path` (shown as `disp`) was set at line:col; `top` marks a
 * value inherited from a root-level section. Errors: HX_ENOMEM. */
int hx_bind_marks_add(hx_bind_marks *ms, const char *path, const char *disp, int line, int col, int top);

/* The latest mark recorded for `path`, or NULL (also when `ms` is NULL). */
const hx_bind_mark *hx_bind_marks_find(const hx_bind_marks *ms, const char *path);

/* The node with id `id` in the context's document. */
yaml_node_t *hx_bind_node_at(hx_bind_ctx *c, int id);

/* 1-based line and column where node `n` starts. */
int hx_bind_node_line(const yaml_node_t *n);
int hx_bind_node_col(const yaml_node_t *n);

/* Sets an HX_EINVAL error "<file>:<line>:<col>: <path>: <message>" at node
 * `n` and returns HX_EINVAL. */
int hx_bind_perr(hx_bind_ctx *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 1 if `n` is a plain null scalar ("", "~", "null", "Null", "NULL"). */
int hx_bind_is_null(const yaml_node_t *n);

/* "a mapping", "a list" or "a scalar", for messages. */
const char *hx_bind_node_kind_name(const yaml_node_t *n);

/* The field named `key` itself in `t` (inlined and deferred fields included,
 * inlined tables not searched), or NULL. */
const hx_bind_field *hx_bind_field_by_key(const hx_bind_table *t, const char *key);

/* The pointer stored (unaligned) at `src`. */
void *hx_bind_load_ptr(const char *src);

/* Applies node `n` to field `f` of the struct at `base`; c->disp holds the
 * field's path, recorded in c->ms. Errors: HX_EINVAL (wrong type, out of
 * range, unknown key, missing required key, unset environment variable),
 * HX_ENOMEM. */
int hx_bind_apply_field(hx_bind_ctx *c, const hx_bind_field *f, char *base, const yaml_node_t *n);

/* Fills the defaults of table `t` into the struct at `base`. */
void hx_bind_apply_defaults(const hx_bind_table *t, char *base);

/* Applies a mapping node onto the struct at `base` described by `t`
 * (defaults must already be in place). K_DEFER keys are skipped. Errors:
 * those of hx_bind_apply_field, and HX_EINVAL for a node that is not a
 * mapping, a non-scalar or duplicate key. */
int hx_bind_apply_mapping(hx_bind_ctx *c, const hx_bind_table *t, char *base, const yaml_node_t *n);

/* The value of `key` in mapping node `n`, or NULL (also when `n` is NULL or
 * not a mapping). */
yaml_node_t *hx_bind_map_get(hx_bind_ctx *c, const yaml_node_t *n, const char *key);

/* Appends node `n` to the string `buf` (capacity `cap`) compactly, for arm
 * names: scalars as written, lists as [a,b], mappings as {k:v}; truncates. */
void hx_bind_render(hx_bind_ctx *c, const yaml_node_t *n, char *buf, size_t cap);

/* Adds the axes of a `sweep:` mapping `sn` (NULL or null: none) to the `*nax`
 * axes of `ax`; an axis replaces one with the same path. `where` names the
 * mapping in messages. Errors: HX_EINVAL (not a mapping of field paths to
 * non-empty lists, more than `max` axes). */
int hx_bind_collect_sweep(hx_bind_ctx *c, const yaml_node_t *sn, const char *where, hx_bind_sweep_axis *ax, int *nax,
                          int max);

/* Resolves the dotted path of axis `a` in table `arm` to its field (*out) and
 * the struct holding it (*base), from the struct at `arm_base`. Errors:
 * HX_EINVAL (no such field, with the closest key suggested; a deferred field,
 * `name` or `kind`; a path through a field that is not a section). */
int hx_bind_resolve_path(hx_bind_ctx *c, const hx_bind_table *arm, const hx_bind_sweep_axis *a, char *arm_base,
                         const hx_bind_field **out, char **base);

/* Walks the key paths table `t` accepts, under `prefix`, counting in *i;
 * writes the path number `want` to `out` (capacity `cap`) and returns 1, or
 * returns 0 past the end. Sections are entered, inlined tables merged, list
 * elements written "key[].sub"; a deferred field's table is walked too, with
 * "[]" after its key when that table is `list` (a list of mappings). */
int hx_bind_key_walk(const hx_bind_table *t, const hx_bind_table *list, const char *prefix, int *i, int want,
                     char *out, size_t cap);

#endif
