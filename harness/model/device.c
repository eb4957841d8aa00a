/* The names of the devices a run can ask for (model/device.h), shared by the
 * CPU-only build (device_none.c) and the CUDA tier (device_cuda.cu). */
#include "model/device.h"

const char *const hx_device_names[4] = {"auto", "cpu", "cuda", NULL};
