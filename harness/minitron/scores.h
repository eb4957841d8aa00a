/* Importance scores of one model, one array per pruning axis (Minitron
 * NeurIPS 2024 §2.1-2.2). Higher means more important. Filled by the
 * importance pass, consumed by the pruner, stored in HDF5 under importance/. */
#ifndef HX_MINITRON_SCORES_H
#define HX_MINITRON_SCORES_H

#include "model/config.h"

typedef struct {
    int num_layers, num_heads, intermediate_size, hidden_size;
    double *layer;   /* [num_layers]: depth importance (e.g. LM loss with the layer removed, or BI) */
    double *head;    /* [num_layers * num_heads]: per query head, row-major by layer */
    double *neuron;  /* [num_layers * intermediate_size]: per MLP neuron, row-major by layer */
    double *channel; /* [hidden_size]: per embedding channel, summed over every norm */
} hx_scores;

/* Allocates zeroed score arrays shaped by `cfg`. Errors: HX_ENOMEM. */
int hx_scores_alloc(hx_scores *s, const hx_config *cfg);
void hx_scores_free(hx_scores *s);

#endif
