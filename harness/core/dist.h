/* Data parallelism across processes over Open MPI (Debian's libopenmpi):
 * where this process sits among the ranks of a job launched by mpirun or
 * srun, and the few collectives the trainer needs. A process started on its
 * own is rank 0 of 1 and never touches MPI, so single-process runs behave as
 * before. Every collective aborts the whole job on failure (MPI's default
 * error handler): a rank that dies ends the job with a message, never a hang.
 * Buffers longer than 2^30 elements are sent in pieces (MPI counts are int;
 * HX_MPI_PIECE sets another piece size, which the tests use to exercise it). */
#ifndef HX_CORE_DIST_H
#define HX_CORE_DIST_H

#include <stddef.h>

/* Initialises MPI when the environment says this process was launched as one
 * rank of several: OMPI_COMM_WORLD_SIZE (mpirun), PMIX_SIZE or PMI_SIZE, or
 * SLURM_NTASKS (srun) above 1. Call once, first thing in main. Returns HX_OK
 * or HX_EIO (MPI_Init failed). */
int hx_dist_init(int *argc, char ***argv);

/* Finalizes MPI if hx_dist_init started it. */
void hx_dist_finalize(void);

/* This process's rank in [0, size) and the number of ranks (0 and 1 alone). */
int hx_dist_rank(void);
int hx_dist_size(void);

/* Element-wise sum over ranks, in place, of buf[0..n) (MPI_Allreduce,
 * MPI_SUM). No-op with one rank. Returns HX_OK (failures abort the job). */
int hx_dist_allreduce_f32(float *buf, size_t n);
int hx_dist_allreduce_f64(double *buf, size_t n);

/* The contiguous shard [*lo, *hi) of n elements owned by `rank` of `size`:
 * the first n % size ranks hold one element more (ZeRO-1's partition). */
void hx_dist_shard(size_t n, int rank, int size, size_t *lo, size_t *hi);

/* ZeRO-1's two collectives over the hx_dist_shard partition of n elements:
 * reduce-scatter sums buf[0..n) over ranks and leaves this rank's shard of the
 * sum in buf[lo..hi) (the rest of buf is scratch afterwards); all-gather
 * fills every rank's buf[0..n) from each rank's own shard. No-ops with one
 * rank. Return HX_OK, HX_ENOMEM. */
int hx_dist_reduce_scatter_f32(float *buf, size_t n);
int hx_dist_allgather_f32(float *buf, size_t n);

/* Every rank's shard mine[0..hi-lo) of n elements (hx_dist_shard) into rank
 * 0's full[0..n) (full is not read elsewhere, and may be NULL there): the
 * gather of a checkpoint, so that one process holds the whole array only
 * where it is written. With one rank, copies mine into full. */
int hx_dist_gather_f32(const float *mine, float *full, size_t n);

/* Rank 0's buf[0..n) copied to every rank. */
int hx_dist_bcast_f64(double *buf, size_t n);

/* Waits for every rank. */
void hx_dist_barrier(void);

/* Ends the whole job with exit status `code` when this rank failed (the
 * others may be waiting in a collective): MPI_Abort on MPI_COMM_WORLD. Returns
 * only with one rank. */
void hx_dist_abort(int code);

#endif
