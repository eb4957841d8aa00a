/* Ranks and collectives over Open MPI (see dist.h). */
#include "core/dist.h"

#include "core/err.h"

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_rank = 0, g_size = 1, g_mpi = 0;

/* Elements per MPI call (counts are int): 2^30, or HX_MPI_PIECE (>= 1) to
 * exercise the piecewise path on small buffers. */
static size_t g_piece = (size_t)1 << 30;

static int env_size(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"};
    for (int i = 0; i < 4; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 1) return atoi(v);
    }
    return 1;
}

int hx_dist_init(int *argc, char ***argv)
{
    if (env_size() < 2) return HX_OK;
    const char *piece_env = getenv("HX_MPI_PIECE");
    if (piece_env && atol(piece_env) >= 1) g_piece = (size_t)atol(piece_env);
    if (MPI_Init(argc, argv) != MPI_SUCCESS) return HX_ERR(HX_EIO, "MPI_Init failed");
    g_mpi = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    return HX_OK;
}

void hx_dist_finalize(void)
{
    if (g_mpi) MPI_Finalize();
    g_mpi = 0;
}

int hx_dist_rank(void) { return g_rank; }
int hx_dist_size(void) { return g_size; }

int hx_dist_allreduce_f32(float *buf, size_t n)
{
    for (size_t i = 0; g_size > 1 && i < n; i += g_piece)
        MPI_Allreduce(MPI_IN_PLACE, buf + i, (int)(n - i < g_piece ? n - i : g_piece), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    return HX_OK;
}

int hx_dist_allreduce_f64(double *buf, size_t n)
{
    for (size_t i = 0; g_size > 1 && i < n; i += g_piece)
        MPI_Allreduce(MPI_IN_PLACE, buf + i, (int)(n - i < g_piece ? n - i : g_piece), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return HX_OK;
}

void hx_dist_shard(size_t n, int rank, int size, size_t *lo, size_t *hi)
{
    size_t base = n / (size_t)size, extra = n % (size_t)size, r = (size_t)rank;
    *lo = r * base + (r < extra ? r : extra);
    *hi = *lo + base + (r < extra);
}

/* Elements of each shard per piece of the shard collectives (>= 1). */
static size_t piece_step(void)
{
    size_t s = g_piece / (size_t)g_size;
    return s ? s : 1;
}

/* One piece of the shard collectives: elements [off, off + len) of every
 * rank's shard, len at most piece_step(), laid out rank after rank in a
 * packed buffer (counts[r] elements from displs[r]). Returns the number of
 * elements of the piece (0 once off is past every shard). */
static size_t piece(size_t n, size_t off, int *counts, int *displs)
{
    size_t total = 0;
    for (int r = 0; r < g_size; r++) {
        size_t lo, hi;
        hx_dist_shard(n, r, g_size, &lo, &hi);
        size_t len = hi - lo > off ? hi - lo - off : 0;
        if (len > piece_step()) len = piece_step();
        counts[r] = (int)len;
        displs[r] = (int)total;
        total += len;
    }
    return total;
}

/* Copies each rank's piece between buf (its place in the shard) and the packed tmp. */
static void pack(float *buf, float *tmp, size_t n, size_t off, const int *counts, const int *displs, int to_tmp)
{
    for (int r = 0; r < g_size; r++) {
        size_t lo, hi;
        hx_dist_shard(n, r, g_size, &lo, &hi);
        float *b = buf + lo + off, *t = tmp + displs[r];
        for (int i = 0; i < counts[r]; i++)
            if (to_tmp) t[i] = b[i];
            else b[i] = t[i];
    }
}

/* The shard collectives run piece by piece (MPI counts are int), each piece
 * packed rank after rank in `tmp`. */
int hx_dist_reduce_scatter_f32(float *buf, size_t n)
{
    if (g_size < 2) return HX_OK;
    size_t lo, hi;
    hx_dist_shard(n, g_rank, g_size, &lo, &hi);
    int *counts = malloc(sizeof(int) * (size_t)g_size), *displs = malloc(sizeof(int) * (size_t)g_size);
    size_t step = piece_step(), packed = step * (size_t)g_size < n ? step * (size_t)g_size : n;
    float *tmp = malloc(sizeof(float) * packed), *mine = malloc(sizeof(float) * (hi - lo + 1));
    int rc = counts && displs && tmp && mine ? HX_OK : HX_ENOMEM;
    for (size_t off = 0; rc == HX_OK && piece(n, off, counts, displs) > 0; off += step) {
        pack(buf, tmp, n, off, counts, displs, 1);
        MPI_Reduce_scatter(tmp, mine + off, counts, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
    for (size_t i = 0; rc == HX_OK && i < hi - lo; i++) buf[lo + i] = mine[i];
    free(counts), free(displs), free(tmp), free(mine);
    return rc;
}

int hx_dist_allgather_f32(float *buf, size_t n)
{
    if (g_size < 2) return HX_OK;
    size_t lo, hi;
    hx_dist_shard(n, g_rank, g_size, &lo, &hi);
    int *counts = malloc(sizeof(int) * (size_t)g_size), *displs = malloc(sizeof(int) * (size_t)g_size);
    size_t step = piece_step(), packed = step * (size_t)g_size < n ? step * (size_t)g_size : n;
    float *tmp = malloc(sizeof(float) * packed);
    int rc = counts && displs && tmp ? HX_OK : HX_ENOMEM;
    for (size_t off = 0; rc == HX_OK && piece(n, off, counts, displs) > 0; off += step) {
        MPI_Allgatherv(buf + lo + off, counts[g_rank], MPI_FLOAT, tmp, counts, displs, MPI_FLOAT, MPI_COMM_WORLD);
        pack(buf, tmp, n, off, counts, displs, 0);
    }
    free(counts), free(displs), free(tmp);
    return rc;
}

int hx_dist_gather_f32(const float *mine, float *full, size_t n)
{
    if (g_size < 2) {
        memcpy(full, mine, n * sizeof(float));
        return HX_OK;
    }
    int *counts = malloc(sizeof(int) * (size_t)g_size), *displs = malloc(sizeof(int) * (size_t)g_size);
    size_t step = piece_step(), packed = step * (size_t)g_size < n ? step * (size_t)g_size : n;
    float *tmp = g_rank == 0 ? malloc(sizeof(float) * packed) : NULL;
    int rc = counts && displs && (tmp || g_rank != 0) ? HX_OK : HX_ENOMEM;
    for (size_t off = 0; rc == HX_OK && piece(n, off, counts, displs) > 0; off += step) {
        MPI_Gatherv(mine + off, counts[g_rank], MPI_FLOAT, tmp, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD);
        if (g_rank == 0) pack(full, tmp, n, off, counts, displs, 0);
    }
    free(counts), free(displs), free(tmp);
    return rc;
}

int hx_dist_bcast_f64(double *buf, size_t n)
{
    for (size_t i = 0; g_size > 1 && i < n; i += g_piece)
        MPI_Bcast(buf + i, (int)(n - i < g_piece ? n - i : g_piece), MPI_DOUBLE, 0, MPI_COMM_WORLD);
    return HX_OK;
}

void hx_dist_barrier(void)
{
    if (g_size > 1) MPI_Barrier(MPI_COMM_WORLD);
}

void hx_dist_abort(int code)
{
    if (g_size < 2) return;
    fprintf(stderr, "harness: rank %d of %d failed (exit status %d); ending the job\n", g_rank, g_size, code);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
}
