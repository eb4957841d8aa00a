/* Forward and backward passes of a Llama/Mistral-family decoder on the CPU
 * (fp32), with an activation workspace whose per-layer intermediates are
 * readable by later stages (importance estimation, distillation).
 *
 * Architecture (transformers LlamaForCausalLM / MistralForCausalLM):
 *   x_0 = embed_tokens[ids]
 *   per layer l:  a = input_layernorm(x_l)
 *                 q, k, v = a Wq^T, a Wk^T, a Wv^T;  q, k = RoPE(q, k)
 *                 o = attention(q, k, v) (causal, GQA, optional sliding window)
 *                 x_mid = x_l + o Wo^T
 *                 m = post_attention_layernorm(x_mid)
 *                 x_{l+1} = x_mid + (silu(m Wg^T) * (m Wu^T)) Wd^T
 *   logits = norm(x_L) lm_head^T
 * Token positions restart at 0 in every sequence (no packing offsets). */
#ifndef HX_MODEL_FORWARD_H
#define HX_MODEL_FORWARD_H

#include "model/model.h"

#include <stdint.h>

/* Intermediates of one decoder layer for a batch of N = B*T tokens, all
 * row-major with one row per token (token (b, t) in row b*T + t). */
typedef struct {
    float *x;         /* [N, hidden_size] layer input (residual stream) */
    float *attn_norm; /* [N, hidden_size] input_layernorm output */
    float *attn_rstd; /* [N] its 1/rms */
    float *q;         /* [N, n_heads*head_dim] = [B, T, n_heads, head_dim], after RoPE */
    float *k;         /* [N, n_kv*head_dim] = [B, T, n_kv_heads, head_dim], after RoPE */
    float *v;         /* [N, n_kv*head_dim] = [B, T, n_kv_heads, head_dim] */
    float *lse;       /* [B, n_heads, T] attention logsumexp per query row; NULL in HX_WS_INFER */
    float *attn_out;  /* [N, n_heads*head_dim] per-head attention outputs before o_proj
                         (head h in columns h*head_dim .. (h+1)*head_dim-1) */
    float *x_mid;     /* [N, hidden_size] residual stream after attention */
    float *mlp_norm;  /* [N, hidden_size] post_attention_layernorm output */
    float *mlp_rstd;  /* [N] */
    float *gate;      /* [N, intermediate_size] gate_proj output (pre-activation) */
    float *up;        /* [N, intermediate_size] up_proj output */
    float *act;       /* [N, intermediate_size] silu(gate)*up, the input of down_proj */
    float *out;       /* [N, hidden_size] layer output = next layer's input */
} hx_layer_acts;

typedef enum {
    HX_WS_TRAIN = 0, /* every layer's intermediates kept for hx_backward */
    HX_WS_INFER = 1  /* forward only: one layer's buffers reused (teacher, eval) */
} hx_ws_mode;

struct hx_workspace;
/* Called by hx_forward after each active layer with that layer's
 * intermediates (in HX_WS_INFER they are overwritten by the next layer, so
 * read them inside the call). A negative return aborts the forward pass
 * and is returned by hx_forward. */
typedef int (*hx_layer_hook)(void *ctx, int layer, const hx_layer_acts *acts, const struct hx_workspace *ws);

typedef struct hx_workspace {
    hx_config cfg;
    int B, T;
    hx_ws_mode mode;
    hx_layer_acts *layers; /* [num_hidden_layers] (TRAIN) or [1] (INFER) */
    float *final_x;        /* [N, hidden_size] input of the final norm */
    float *final_norm;     /* [N, hidden_size] final norm output (lm_head input) */
    float *final_rstd;     /* [N] */
    float *logits;         /* [head_rows, vocab_size] */
    int head_rows;         /* rows of logits held: N, or fewer when the LM head runs in chunks */
    float *rope_cos, *rope_sin; /* [T, head_dim/2] */
    int32_t *ids;          /* [N] the ids of the last forward */
    unsigned char *active; /* [num_hidden_layers] layers run by the last forward */
    hx_layer_hook hook;    /* optional, see hx_layer_hook */
    void *hook_ctx;
    /* backward scratch (TRAIN only) */
    float *d_x, *d_norm, *d_ff1, *d_ff2, *d_q, *d_k, *d_v, *d_attn;
    float *hidden; /* residual-stream storage: num_hidden_layers+1 buffers (TRAIN) or 2 (INFER) */
    uint16_t *xbf16; /* INFER: a linear layer's input in bf16; allocated by the first forward
                        of a model with bf16 weights (model.h), else NULL */
    float *buf;    /* the one allocation behind all arrays above */
} hx_workspace;

/* Allocates a workspace for batches of B sequences of T tokens of models with
 * configuration `cfg` (which sets the RoPE tables, sliding window and all
 * sizes). With N = B*T, q = n_heads*head_dim, kv = n_kv_heads*head_dim,
 * HX_WS_TRAIN holds per layer N*(4*hidden + 2*q + 2*kv + 3*intermediate + 2)
 * + B*n_heads*T floats (attention logsumexps), plus N*(hidden + vocab) and the
 * backward scratch N*(2*hidden + 2*intermediate + 2*q + 2*kv); HX_WS_INFER
 * holds one layer's set without the logsumexps. Errors: HX_EINVAL (bad
 * sizes), HX_ENOMEM. */
int hx_workspace_alloc(hx_workspace *ws, const hx_config *cfg, int B, int T, hx_ws_mode mode);
void hx_workspace_free(hx_workspace *ws);

/* Logits held at once, in bytes, before the LM head runs in chunks. */
#define HX_LOGITS_BUDGET ((size_t)512 << 20)

/* Rows of logits for micro-batches of N tokens over V ids: N while N*V*4
 * bytes fit in HX_LOGITS_BUDGET (512 MiB), else the most rows that fit, a
 * multiple of 16 and at least 16. */
int hx_head_rows_auto(int N, int V);

/* hx_workspace_alloc holding `head_rows` rows of logits (<= 0 or >= B*T:
 * all). With fewer rows than tokens the full logits never exist:
 * hx_forward stops at the final norm, and the LM head runs chunk by chunk
 * with hx_head_logits and (TRAIN) hx_head_backward, then hx_backward_ex with
 * dlogits NULL. Same errors. */
int hx_workspace_alloc_rows(hx_workspace *ws, const hx_config *cfg, int B, int T, hx_ws_mode mode, int head_rows);

/* ws->logits[0, rows) = the LM head of rows [row0, row0+rows) of the last
 * hx_forward's final norm (bf16 when the model has bf16 weights and the
 * workspace is forward-only). The rows agree with those of a workspace that
 * holds every row to fp32 rounding (OpenBLAS may run another kernel for
 * another row count). Errors: HX_EINVAL (rows outside [0, B*T) or more than
 * ws->head_rows). */
int hx_head_logits(const hx_model *m, hx_workspace *ws, int row0, int rows);

/* The next chunk of the LM head from row0: its rows (ws->head_rows, or the
 * rest of the B*T tokens), with their logits in ws->logits: run here by
 * hx_head_logits when the workspace holds fewer rows than tokens, left from
 * hx_forward when it holds them all (then row0 must be 0). Returns the row
 * count, or HX_EINVAL (< 0) for row0 outside [0, B*T). The loop:
 * for (int r0 = 0, n; r0 < B*T; r0 += n) { n = hx_head_chunk(m, ws, r0); ... } */
int hx_head_chunk(const hx_model *m, hx_workspace *ws, int row0);

/* Backward of the LM head over rows [row0, row0+rows), from dlogits
 * [rows, vocab_size] (may be ws->logits): ws->d_norm rows = dlogits W
 * (overwritten), grads->lm_head += dlogits^T final_norm rows (a tied
 * lm_head's into embed_tokens). Chunks summed into lm_head differ from one
 * whole product in rounding only. Once every row has
 * passed, hx_backward_ex(m, ws, NULL, ...) backpropagates the rest. Errors:
 * HX_EINVAL (HX_WS_INFER, range). */
int hx_head_backward(const hx_model *m, hx_workspace *ws, int row0, int rows, const float *dlogits, hx_model *grads);

/* Intermediates of layer l after a HX_WS_TRAIN forward (NULL in HX_WS_INFER,
 * where the hook is the way to read them, or when l is out of range). */
const hx_layer_acts *hx_ws_layer(const hx_workspace *ws, int l);

/* Runs the model on ids [B*T] (row-major [B, T], each in [0, vocab_size)) and
 * writes ws->logits [B*T, vocab_size] (with ws->head_rows < B*T, only the
 * final norm: see hx_head_logits). `active` [num_hidden_layers] is NULL
 * (all layers) or a mask where 0 skips a layer (its output = its input;
 * used for depth importance). The model's config must equal the workspace's
 * in every size. Errors: HX_EINVAL (id out of range, config mismatch),
 * HX_ENOMEM, or the hook's code. */
int hx_forward(const hx_model *m, hx_workspace *ws, const int32_t *ids, const unsigned char *active);

/* Backpropagates dlogits [B*T, vocab_size] (the gradient of the scalar loss
 * with respect to ws->logits, e.g. from hx_cross_entropy or a KD loss)
 * through the last hx_forward of a HX_WS_TRAIN workspace and ACCUMULATES the
 * parameter gradients into `grads` (an hx_model of the same config, zeroed by
 * the caller before the first micro-batch). Layers skipped by the forward's
 * mask pass the gradient through unchanged and get no gradient. A tied
 * lm_head's gradient lands in grads->embed_tokens. dlogits may be
 * ws->logits; NULL means that hx_head_backward has run the LM head's
 * backward for every row (required when ws->head_rows < B*T). Errors:
 * HX_EINVAL (HX_WS_INFER workspace, config mismatch), HX_ENOMEM. */
int hx_backward(const hx_model *m, hx_workspace *ws, const float *dlogits, hx_model *grads);

/* Extra gradients injected into intermediate tensors of the last forward,
 * for losses on hidden states (intermediate-state distillation, NeurIPS 2024
 * §3 / App. A.6). Every pointer may be NULL (nothing added there):
 *   d_attn_norm[l] [N, hidden_size]  d(loss)/d(layer l's input_layernorm output)
 *   d_mlp_norm[l]  [N, hidden_size]  d(loss)/d(layer l's post_attention_layernorm output)
 *   d_final_norm   [N, hidden_size]  d(loss)/d(final norm output)
 * d_attn_norm and d_mlp_norm are arrays of num_hidden_layers pointers (or
 * NULL). Each addition is applied where that tensor's gradient is complete
 * (after the lm_head / projections that read it, before its norm's backward),
 * so the result equals backpropagating the sum of the logits loss and the
 * state losses. Additions for layers skipped by the forward's mask are
 * ignored (their norms did not run). */
typedef struct {
    float *const *d_attn_norm;
    float *const *d_mlp_norm;
    const float *d_final_norm;
} hx_state_grads;

/* hx_backward with injected state gradients `extra` (NULL: same as
 * hx_backward). Same errors. */
int hx_backward_ex(const hx_model *m, hx_workspace *ws, const float *dlogits, const hx_state_grads *extra,
                   hx_model *grads);

#endif
