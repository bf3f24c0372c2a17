#!/usr/bin/env bash
# Prepares a checkout of keras-torch: system libraries, npm packages, the native addon and the TypeScript.
# Idempotent: what is already there is left alone. On Debian/Ubuntu as root it installs what is missing
# with apt-get; otherwise it prints the exact command to run.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

# --- system packages (Debian/Ubuntu) -------------------------------------------------------------
# libtorch-dev: libtorch itself. libopenblas0-openmp: a fast BLAS that shares libtorch's OpenMP threads
# (the reference BLAS Debian falls back to makes Dense layers about 4x slower). cmake, g++: the build.
# dataset-fashion-mnist: real images for the demo and the end-to-end tests.
# libgloo-dev: the headers of Gloo, which data-parallel training (torch.distributed's c10d) uses.
# python3-torch, python3-keras-preprocessing, python3-scipy: the peers the benchmarks and the
# interoperability tests compare against (never needed by the package itself).
packages=(libtorch-dev libopenblas0-openmp libjpeg62-turbo-dev libgloo-dev cmake g++ make dataset-fashion-mnist)
if [ "${KERAS_TORCH_PEERS:-1}" = "1" ]; then
  packages+=(python3-torch python3-keras-preprocessing python3-scipy python3-pil libtcmalloc-minimal4)
fi

needs_libtorch() { [ -z "${LIBTORCH:-}" ] && [ -z "${Torch_DIR:-}" ]; }

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for package in "${packages[@]}"; do
    if [ "$package" = libtorch-dev ] && ! needs_libtorch; then continue; fi
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      say "installing ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      say "missing system packages; run:"
      say "  sudo apt-get install -y --no-install-recommends ${missing[*]}"
      exit 1
    fi
  fi
  # libtorch-dev pulls in the pthread OpenBLAS, whose own threads fight libtorch's OpenMP pool; prefer
  # the OpenMP build when it is installed (root only: it changes a system-wide alternative).
  # libtorch links libblas.so.3, liblapack.so.3 and libopenblas.so.0: each is its own alternative.
  openmp_dir=/usr/lib/x86_64-linux-gnu/openblas-openmp
  if [ "$(id -u)" = 0 ] && [ -d "$openmp_dir" ] && command -v update-alternatives >/dev/null 2>&1; then
    for library in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
      [ -e "$openmp_dir/$library" ] || continue
      if [ "$(readlink -f "/usr/lib/x86_64-linux-gnu/$library")" != "$(readlink -f "$openmp_dir/$library")" ]; then
        say "selecting the OpenMP OpenBLAS for $library"
        update-alternatives --set "$library-x86_64-linux-gnu" "$openmp_dir/$library" >/dev/null
      fi
    done
  fi
else
  say "not a Debian/Ubuntu system: install libtorch yourself (see README), then set LIBTORCH or Torch_DIR"
fi

# --- npm packages ---------------------------------------------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  # The package's own install step (scripts/install.js) is for installed copies; the build below is ours.
  KERAS_TORCH_SKIP_INSTALL=1 npm ci --no-audit --no-fund --loglevel=error
fi

# --- the native addon and the TypeScript ----------------------------------------------------------
# cmake-js rebuilds only what changed, so running this again is cheap.
node scripts/build-native.js
say "compiling TypeScript"
npm run --silent build:ts
say "ready"
