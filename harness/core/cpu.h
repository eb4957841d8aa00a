/* The CPU's vector features, read with cpuid (and xgetbv for what the OS
 * enables), and the OpenBLAS kernel to use for them: Debian's OpenBLAS 0.3.21
 * detects some AVX-512 CPUs as Prescott or Haswell (bench/README.md), so the
 * harness names the core itself before the library initialises. */
#ifndef HX_CORE_CPU_H
#define HX_CORE_CPU_H

#include <stddef.h>

typedef struct {
    char vendor[13];    /* "GenuineIntel", "AuthenticAMD", ... */
    char brand[49];     /* the processor brand string */
    int avx2, fma;      /* usable: the CPU has them and the OS saves the YMM state */
    int avx512f, avx512bw, avx512vl, avx512dq; /* usable: ... and the OS saves the ZMM state */
    int avx512_bf16;
    int amx_tile, amx_bf16; /* usable: ... and the OS saves the AMX tile state */
} hx_cpu_features;

/* Reads the features of the CPU this process runs on (x86-64; elsewhere all 0). */
void hx_cpu_detect(hx_cpu_features *f);

/* The OpenBLAS core type (OPENBLAS_CORETYPE) whose fp32 kernels are the
 * fastest this CPU can run: "SkylakeX" when AVX-512 F, BW, VL and DQ are
 * usable, "Haswell" for AVX2 + FMA, else NULL (leave OpenBLAS's own choice).
 * Never a kernel the CPU cannot run. Measured with `harness bench --suite
 * blas` on a 2-core AMD EPYC with AVX-512 (where the environment presets
 * Haswell): 2048^3 sgemm 135-154 GFLOP/s Haswell, 274-298 SkylakeX, 184-301
 * Cooperlake, 173-262 oneDNN 2.6, 28-42 BLIS 0.9; on the Intel Xeon of issue
 * #11: 37 Prescott (as detected), 231 SkylakeX, 158 Cooperlake. */
const char *hx_cpu_openblas_core(const hx_cpu_features *f);

/* The usable features as a space-separated list ("avx2 fma avx512f ..."). */
void hx_cpu_feature_string(const hx_cpu_features *f, char *buf, size_t n);

/* How many other tasks are running on the machine: the fewest of a few
 * samples of /proc/stat's procs_running taken `ms` milliseconds apart, less
 * this process's own running threads. 0 where /proc/stat cannot be read. */
int hx_cpu_others_running(int samples, int ms);

/* The OpenMP waiting that suits the machine now (the value for
 * OMP_WAIT_POLICY, or NULL for libgomp's default: spin about 300,000 pause
 * loops, then sleep). Idle threads that spin join the next parallel region
 * at once: the mini training step runs about 24% faster than with "passive"
 * on the 2-core AMD EPYC VM (bench/README.md). But when other tasks hold
 * cores, a spinning thread takes time from the thread it waits for (29%
 * slower with one busy loop beside it), so with more running tasks than
 * cores left over (others_running > cores - threads) the choice is
 * "passive". */
const char *hx_cpu_wait_policy(int others_running, int cores, int threads);

/* What does the GEMMs in this process: the BLAS library and its version
 * (openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ...") and the
 * kernel it runs (openblas_get_corename(), e.g. "SkylakeX"). Recorded in
 * the HDF5 provenance and in `bench --json`. */
const char *hx_blas_config(void);
const char *hx_blas_core(void);

#endif
