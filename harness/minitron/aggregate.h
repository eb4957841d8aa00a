/* Streaming aggregation of activation-based importance over sequence and batch
 * (Minitron NeurIPS 2024 §2.1, Table 11): each sample's per-position values
 * are first reduced over the sequence, then the per-sample results over the
 * batch, each with one of {mean(abs), L2, variance}. Also Block Importance
 * (ShortGPT): 1 - mean cosine between a layer's input and output. */
#ifndef HX_MINITRON_AGGREGATE_H
#define HX_MINITRON_AGGREGATE_H

/* mean(abs): (1/n) sum |s_i|;  L2: sqrt(sum s_i^2);  variance: (1/n) sum (s_i - mean)^2. */
typedef enum { HX_AGG_MEAN = 0, HX_AGG_L2 = 1, HX_AGG_VAR = 2 } hx_agg;

/* Names indexed by hx_agg ("mean", "l2", "var"), NULL-terminated: the one
 * table the manifest, the command line and the HDF5 attributes use. */
extern const char *const hx_agg_names[];

/* Parses a name of hx_agg_names, or "L2" / "variance"; -1 for anything else. */
int hx_agg_parse(const char *s);
const char *hx_agg_name(hx_agg a);

/* Accumulator over `width` channels (e.g. neurons of one layer). */
typedef struct {
    hx_agg batch, seq;
    int width;
    long samples;
    double *s1, *s2; /* running sums over samples of v and v^2 (v = seq-aggregated value) */
    double *t1, *t2; /* scratch: one sample's per-channel sums over positions */
} hx_agg_acc;

/* Errors: HX_ENOMEM. The default of the paper is batch = L2, seq = mean. */
int hx_agg_init(hx_agg_acc *a, int width, hx_agg batch, hx_agg seq);
void hx_agg_free(hx_agg_acc *a);

/* Adds one calibration sample: x[t * ld + c] for t < T positions, c < width
 * channels (fp32 activations; accumulation in double). Rows are read in
 * order (contiguous), each thread owning a block of channels; every channel
 * sums its positions in order, so results do not depend on the thread count. */
void hx_agg_add_sample(hx_agg_acc *a, const float *x, int T, int ld);

/* The work of hx_agg_add_sample for channels [c0, c1) only, without OpenMP,
 * for a caller that splits the channels of several accumulators among the
 * threads of one parallel region (each channel's sums run in the same order
 * as in hx_agg_add_sample, so the results are the same bit for bit). After
 * every range of n samples is added, call hx_agg_samples_added(a, n) once. */
void hx_agg_add_range(hx_agg_acc *a, const float *x, int T, int ld, int c0, int c1);
void hx_agg_samples_added(hx_agg_acc *a, int n);

/* Writes the batch-aggregated score of every channel to out[0..width). */
void hx_agg_finish(const hx_agg_acc *a, double *out);

/* Block Importance of one layer for N positions of width D:
 * returns sum over positions of (1 - cos(x_in, x_out)), with the cosine
 * clamped to [-1, 1] and zero-norm vectors counted as cosine 1 (field case
 * C06: never NaN; NAN only on allocation failure). Divide by the total position count to get BI. */
double hx_block_importance_sum(const float *x_in, const float *x_out, int N, int D);

#endif
