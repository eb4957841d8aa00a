/* Allocation of per-axis importance score arrays. */
#include "minitron/scores.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

int hx_scores_alloc(hx_scores *s, const hx_config *c)
{
    memset(s, 0, sizeof *s);
    s->num_layers = c->num_hidden_layers;
    s->num_heads = c->num_attention_heads;
    s->intermediate_size = c->intermediate_size;
    s->hidden_size = c->hidden_size;
    s->layer = hx_calloc((size_t)s->num_layers, sizeof(double));
    s->head = hx_calloc((size_t)s->num_layers * s->num_heads, sizeof(double));
    s->neuron = hx_calloc((size_t)s->num_layers * s->intermediate_size, sizeof(double));
    s->channel = hx_calloc((size_t)s->hidden_size, sizeof(double));
    if (!s->layer || !s->head || !s->neuron || !s->channel) {
        hx_scores_free(s);
        return HX_ENOMEM;
    }
    return HX_OK;
}

void hx_scores_free(hx_scores *s)
{
    free(s->layer);
    free(s->head);
    free(s->neuron);
    free(s->channel);
    memset(s, 0, sizeof *s);
}
