#!/usr/bin/env bash
# Packs what the GPU machine cannot build (its image has nvcc but none of the
# Debian libraries: OpenBLAS, jansson, HDF5, libarchive, ...) for
# tools/device-check.sh: bin/harness-cuda and build-cuda/cuda/engine_check,
# built here by `make cuda`, with every shared library they load except the C
# runtime and CUDA's own (the GPU image has matching ones), into
# build-cuda/device-bundle.tgz. Carry that path to the device.
# Usage: tools/device-bundle.sh     Exit status: 0 packed; 2 build failure.
set -eu -o pipefail
cd "$(dirname "$0")/.."
make -j"$(nproc)" cuda >/dev/null || { echo "device-bundle: make cuda failed" >&2; exit 2; }
stage=build-cuda/bundle
rm -rf "$stage" && mkdir -p "$stage/lib" "$stage/bin"
cp bin/harness-cuda build-cuda/cuda/engine_check "$stage/bin/"
# every resolved library but glibc's, the C++/gcc runtimes and CUDA's
ldd bin/harness-cuda build-cuda/cuda/engine_check | awk '/=> \//{print $3}' | sort -u |
  grep -v -E '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so|/cuda' |
  while read -r lib; do cp -L "$lib" "$stage/lib/"; done
tar -C "$stage" -czf build-cuda/device-bundle.tgz bin lib
echo "device-bundle: build-cuda/device-bundle.tgz ($(du -h build-cuda/device-bundle.tgz | cut -f1)," \
     "$(ls "$stage/lib" | wc -l) libraries)"
