/* Ranks and collectives over Open MPI (see dist.h). */
#include "core/dist.h"

#include "core/err.h"

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int g_rank = 0, g_size = 1, g_mpi = 0;

enum { PIECE = 1 << 30 }; /* elements per MPI call */

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
    for (size_t i = 0; g_size > 1 && i < n; i += PIECE)
        MPI_Allreduce(MPI_IN_PLACE, buf + i, (int)(n - i < PIECE ? n - i : PIECE), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    return HX_OK;
}

int hx_dist_allreduce_f64(double *buf, size_t n)
{
    for (size_t i = 0; g_size > 1 && i < n; i += PIECE)
        MPI_Allreduce(MPI_IN_PLACE, buf + i, (int)(n - i < PIECE ? n - i : PIECE), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return HX_OK;
}

void hx_dist_shard(size_t n, int rank, int size, size_t *lo, size_t *hi)
{
    size_t base = n / (size_t)size, extra = n % (size_t)size, r = (size_t)rank;
    *lo = r * base + (r < extra ? r : extra);
    *hi = *lo + base + (r < extra);
}

/* The counts and displacements of the shards of n elements, as ints of one
 * MPI call over elements [off, off + len) of every shard. */
static int piece_layout(size_t n, size_t off, int **counts, int **displs, size_t *max_len)
{
    *counts = malloc(sizeof(int) * (size_t)g_size);
    *displs = malloc(sizeof(int) * (size_t)g_size);
    if (!*counts || !*displs) return HX_ENOMEM;
    *max_len = 0;
    for (int r = 0; r < g_size; r++) {
        size_t lo, hi;
        hx_dist_shard(n, r, g_size, &lo, &hi);
        size_t len = hi - lo > off ? hi - lo - off : 0;
        if (len > PIECE / (size_t)g_size) len = PIECE / (size_t)g_size;
        (*counts)[r] = (int)len;
        if (hi - lo > *max_len) *max_len = hi - lo;
    }
    return HX_OK;
}

/* Runs `op` over the shards piece by piece: each piece takes up to
 * PIECE / size elements of every shard, packed contiguously in `tmp`. */
int hx_dist_reduce_scatter_f32(float *buf, size_t n)
{
    if (g_size < 2) return HX_OK;
    size_t lo, hi, max_len;
    hx_dist_shard(n, g_rank, g_size, &lo, &hi);
    int *counts = NULL, *displs = NULL, rc = HX_OK;
    float *tmp = malloc(sizeof(float) * (PIECE < n ? PIECE : n)), *mine = malloc(sizeof(float) * (hi - lo + 1));
    for (size_t off = 0; tmp && mine; off += PIECE / (size_t)g_size) {
        free(counts), free(displs);
        if ((rc = piece_layout(n, off, &counts, &displs, &max_len)) < 0) break;
        if (off >= max_len) break;
        size_t at = 0; /* pack each shard's piece: [r0 piece][r1 piece]... */
        for (int r = 0; r < g_size; r++) {
            size_t rlo, rhi;
            hx_dist_shard(n, r, g_size, &rlo, &rhi);
            for (int i = 0; i < counts[r]; i++) tmp[at + (size_t)i] = buf[rlo + off + (size_t)i];
            at += (size_t)counts[r];
        }
        MPI_Reduce_scatter(tmp, mine + off, counts, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
    if (!tmp || !mine) rc = HX_ENOMEM;
    if (rc == HX_OK)
        for (size_t i = 0; i < hi - lo; i++) buf[lo + i] = mine[i];
    free(counts), free(displs), free(tmp), free(mine);
    return rc;
}

int hx_dist_allgather_f32(float *buf, size_t n)
{
    if (g_size < 2) return HX_OK;
    size_t lo, hi, max_len;
    hx_dist_shard(n, g_rank, g_size, &lo, &hi);
    int *counts = NULL, *displs = NULL, rc = HX_OK;
    float *tmp = malloc(sizeof(float) * (PIECE < n ? PIECE : n));
    for (size_t off = 0; tmp; off += PIECE / (size_t)g_size) {
        free(counts), free(displs);
        if ((rc = piece_layout(n, off, &counts, &displs, &max_len)) < 0) break;
        if (off >= max_len) break;
        int at = 0;
        for (int r = 0; r < g_size; r++) displs[r] = at, at += counts[r];
        MPI_Allgatherv(buf + lo + off, counts[g_rank], MPI_FLOAT, tmp, counts, displs, MPI_FLOAT, MPI_COMM_WORLD);
        for (int r = 0; r < g_size; r++) {
            size_t rlo, rhi;
            hx_dist_shard(n, r, g_size, &rlo, &rhi);
            for (int i = 0; i < counts[r]; i++) buf[rlo + off + (size_t)i] = tmp[displs[r] + i];
        }
    }
    if (!tmp) rc = HX_ENOMEM;
    free(counts), free(displs), free(tmp);
    return rc;
}

int hx_dist_bcast_f64(double *buf, size_t n)
{
    for (size_t i = 0; g_size > 1 && i < n; i += PIECE)
        MPI_Bcast(buf + i, (int)(n - i < PIECE ? n - i : PIECE), MPI_DOUBLE, 0, MPI_COMM_WORLD);
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
