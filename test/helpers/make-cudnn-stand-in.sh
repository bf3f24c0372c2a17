#!/usr/bin/env bash
# For the tests only, never for the package: a stand-in for the cuDNN library a CUDA libtorch links
# (libcudnn.so.9 for Debian 13's libtorch-cuda), made where nvidia-cudnn could not download the real one, so
# that libtorch_cuda loads and the whole suite runs with a CUDA build's GPU half in the process. Every cuDNN
# function libtorch_cuda calls is a stub returning CUDNN_STATUS_NOT_INITIALIZED; with no GPU none is called.
#
#   bash test/helpers/make-cudnn-stand-in.sh OUT_DIR [LIBTORCH_CUDA]   then LD_LIBRARY_PATH=OUT_DIR
set -euo pipefail
out="$1"
cuda_library="${2:-$(ls /usr/lib/x86_64-linux-gnu/libtorch_cuda.so* 2>/dev/null | head -1)}"
[ -e "$cuda_library" ] || { echo "make-cudnn-stand-in: no libtorch_cuda found" >&2; exit 1; }
mkdir -p "$out"
sonames=$(readelf -d "$cuda_library" | sed -n 's/.*Shared library: \[\(libcudnn[^]]*\)\].*/\1/p')
[ -n "$sonames" ] || { echo "make-cudnn-stand-in: $cuda_library does not link cuDNN" >&2; exit 1; }
nm -D --undefined-only "$cuda_library" | awk '{print $NF}' | sed 's/@.*//' | grep '^cudnn' | sort -u \
  | awk '{ print "int " $1 "(void) { return 1; }" }' >"$out/cudnn-stand-in.c"
for soname in $sonames; do
  cc -shared -fPIC -Wl,-soname,"$soname" -o "$out/$soname" "$out/cudnn-stand-in.c"
  echo "make-cudnn-stand-in: $out/$soname ($(wc -l <"$out/cudnn-stand-in.c") stub functions) for $cuda_library"
done
