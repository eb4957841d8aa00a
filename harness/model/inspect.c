/* What a model directory or safetensors file holds (hx_inspect): config
 * summary, parameter counts, tensor table, and for a directory the loader's
 * check of every tensor against the config. */
#include "model/inspect.h"

#include "core/err.h"
#include "core/util.h"
#include "model/weights.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cmp_natural(const void *a, const void *b, void *st)
{
    return strverscmp(hx_st_get(st, *(const int *)a)->name, hx_st_get(st, *(const int *)b)->name);
}

static int is_embedding(const char *name)
{
    return !strcmp(name, "model.embed_tokens.weight") || !strcmp(name, "lm_head.weight");
}

static const char *rope_name(const hx_config *c) { return c->rope_type == HX_ROPE_LLAMA3 ? "llama3" : "default"; }

static json_t *config_json(const hx_config *c)
{
    json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:{s:s, s:f}}", "model_type",
                          c->model_type, "hidden_size", c->hidden_size, "intermediate_size", c->intermediate_size,
                          "num_hidden_layers", c->num_hidden_layers, "num_attention_heads", c->num_attention_heads,
                          "num_key_value_heads", c->num_key_value_heads, "head_dim", c->head_dim, "vocab_size",
                          c->vocab_size, "max_position_embeddings", c->max_position_embeddings, "tie_word_embeddings",
                          c->tie_word_embeddings, "rope", "type", rope_name(c), "theta", c->rope_theta);
    if (o && c->rope_type == HX_ROPE_LLAMA3)
        json_object_update_new(json_object_get(o, "rope"),
                               json_pack("{s:f, s:f, s:f, s:i}", "factor", c->rope_factor, "low_freq_factor",
                                     c->rope_low_freq_factor, "high_freq_factor", c->rope_high_freq_factor,
                                     "original_max_position_embeddings", c->rope_original_max_position));
    return o;
}

static void print_config(FILE *out, const hx_config *c)
{
    fprintf(out, "config (%s):\n", c->model_type);
    fprintf(out, "  %-24s %d\n", "hidden_size", c->hidden_size);
    fprintf(out, "  %-24s %d\n", "intermediate_size", c->intermediate_size);
    fprintf(out, "  %-24s %d\n", "num_hidden_layers", c->num_hidden_layers);
    fprintf(out, "  %-24s %d\n", "num_attention_heads", c->num_attention_heads);
    fprintf(out, "  %-24s %d\n", "num_key_value_heads", c->num_key_value_heads);
    fprintf(out, "  %-24s %d%s\n", "head_dim", c->head_dim,
            c->head_dim * c->num_attention_heads != c->hidden_size ? "  (heads x head_dim != hidden_size)" : "");
    fprintf(out, "  %-24s %d\n", "vocab_size", c->vocab_size);
    fprintf(out, "  %-24s %d\n", "max_position_embeddings", c->max_position_embeddings);
    fprintf(out, "  %-24s %s\n", "tie_word_embeddings", c->tie_word_embeddings ? "true" : "false");
    fprintf(out, "  %-24s %s, theta %g", "rope", rope_name(c), c->rope_theta);
    if (c->rope_type == HX_ROPE_LLAMA3)
        fprintf(out, ", factor %g, low_freq_factor %g, high_freq_factor %g, original_max_position_embeddings %d",
                c->rope_factor, c->rope_low_freq_factor, c->rope_high_freq_factor, c->rope_original_max_position);
    fprintf(out, "\n");
    if (c->sliding_window) fprintf(out, "  %-24s %d\n", "sliding_window", c->sliding_window);
}

static void shape_text(char *buf, size_t len, const hx_st_tensor *t)
{
    size_t o = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < t->ndim && o < len; d++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (o < len) snprintf(buf + o, len - o, "]");
}

int hx_inspect(const char *path, int json, FILE *out)
{
    struct stat sb;
    if (stat(path, &sb) != 0) return HX_ERR(HX_EIO, "%s: no such file or directory", path);
    hx_config cfg;
    int have_cfg = 0;
    if (S_ISDIR(sb.st_mode)) {
        char *cp = hx_path_join(path, "config.json");
        if (!cp) return HX_ENOMEM;
        int rc = hx_config_load(cp, &cfg);
        free(cp);
        HX_TRY(rc);
        have_cfg = 1;
    }
    hx_st *st;
    HX_TRY(hx_st_open(path, &st));
    int n = hx_st_count(st);
    int *order = hx_malloc((size_t)(n ? n : 1) * sizeof *order);
    if (!order) {
        hx_st_close(st);
        return HX_ENOMEM;
    }
    uint64_t total = 0, embed = 0;
    for (int i = 0; i < n; i++) {
        order[i] = i;
        const hx_st_tensor *t = hx_st_get(st, i);
        total += hx_st_numel(t);
        if (is_embedding(t->name)) embed += hx_st_numel(t);
    }
    qsort_r(order, (size_t)n, sizeof *order, cmp_natural, st);
    int rc = HX_OK;
    char shape[160];
    if (json) {
        json_t *root = json_pack("{s:s, s:{s:I, s:I}}", "path", path, "parameters", "total", (json_int_t)total,
                                 "non_embedding", (json_int_t)(total - embed));
        json_t *arr = json_array();
        if (have_cfg) json_object_set_new(root, "config", config_json(&cfg));
        for (int i = 0; i < n; i++) {
            const hx_st_tensor *t = hx_st_get(st, order[i]);
            json_t *sh = json_array();
            for (int d = 0; d < t->ndim; d++) json_array_append_new(sh, json_integer(t->shape[d]));
            const char *file = strrchr(hx_st_path(st, t), '/');
            json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:s}", "name", t->name, "dtype",
                                                 hx_dtype_name(t->dtype), "shape", sh, "file",
                                                 file ? file + 1 : hx_st_path(st, t)));
        }
        json_object_set_new(root, "tensors", arr);
        if (json_dumpf(root, out, JSON_INDENT(1)) != 0) rc = HX_ERR(HX_EIO, "cannot write the report");
        fputc('\n', out);
        json_decref(root);
    } else {
        fprintf(out, "%s\n", path);
        if (have_cfg) print_config(out, &cfg);
        fprintf(out, "parameters: %llu total, %llu non-embedding\n", (unsigned long long)total,
                (unsigned long long)(total - embed));
        size_t w = 4;
        for (int i = 0; i < n; i++) {
            size_t l = strlen(hx_st_get(st, i)->name);
            if (l > w) w = l;
        }
        fprintf(out, "tensors: %d\n  %-*s  %-5s  %s\n", n, (int)w, "name", "dtype", "shape");
        for (int i = 0; i < n; i++) {
            const hx_st_tensor *t = hx_st_get(st, order[i]);
            shape_text(shape, sizeof shape, t);
            fprintf(out, "  %-*s  %-5s  %s\n", (int)w, t->name, hx_dtype_name(t->dtype), shape);
        }
    }
    /* A directory: every tensor against its config, as the loader checks it. */
    if (rc == HX_OK && have_cfg) {
        if (!json) fprintf(out, "tensors against the config:\n");
        rc = hx_weights_check(path, st, &cfg, json ? NULL : out);
        if (rc == HX_OK && !json) fprintf(out, "  ok\n");
    }
    free(order);
    hx_st_close(st);
    return rc;
}
