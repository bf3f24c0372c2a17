#!/usr/bin/env bash
# Prepares a checkout of keras-torch: system libraries, npm packages, the native addon and the TypeScript.
# Idempotent: what is already there is left alone. On Debian/Ubuntu as root it installs what is missing
# with apt-get; otherwise it prints the exact command to run.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

# --- system packages (Debian/Ubuntu) -------------------------------------------------------------
# libtorch-dev: libtorch itself, only where scripts/find-libtorch.js finds none (below). libopenblas0-openmp: a fast BLAS that shares libtorch's OpenMP threads
# (the reference BLAS Debian falls back to makes Dense layers about 4x slower). cmake, g++: the build.
# dataset-fashion-mnist: real images for the demo and the end-to-end tests.
# libgloo-dev: the headers of Gloo, which data-parallel training (torch.distributed's c10d) uses.
# fontconfig-config, fonts-dejavu-core: the text of plotModel's and the training plots' PNG files (sharp draws
# them through fontconfig, which prints an error and draws no text on a system without its configuration).
# python3-torch, python3-torchvision, python3-keras-preprocessing, python3-scipy: the peers the benchmarks
# and the interoperability tests compare against (torchvision's models, scripted for the TorchScript tests;
# never needed by the package itself). clang, libclang-rt-dev:
# libFuzzer, which the tests run over the native JPEG path for a bounded time.
packages=(libopenblas0-openmp libjpeg62-turbo-dev libgloo-dev cmake g++ make dataset-fashion-mnist fontconfig-config fonts-dejavu-core)
if [ "${KERAS_TORCH_PEERS:-1}" = "1" ]; then
  packages+=(python3-torch python3-torchvision python3-keras-preprocessing python3-scipy python3-pil)
  packages+=(libtcmalloc-minimal4)  # libtcmalloc-minimal4t64 from Debian 13 on: see apt_name below
  packages+=(clang libclang-rt-dev)
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
command -v node >/dev/null 2>&1 || { say "needs Node.js 20 or later on PATH (Debian: apt-get install nodejs npm)"; exit 1; }

# A libtorch that is already there is used, never replaced: installing libtorch-dev would remove Debian's
# CUDA libtorch (libtorch-cuda-dev), and one from LIBTORCH, Torch_DIR or pip's torch needs nothing from apt.
# scripts/find-libtorch.js decides, as it does for the build; libtorch-dev is installed only when it finds none.
if found="$(node scripts/find-libtorch.js 2>/dev/null)"; then
  say "using $(node -e 'const l = JSON.parse(process.argv[1]); console.log(`libtorch ${l.version} (${l.cuda ? "CUDA" : "CPU"}) from ${l.source}: ${l.torchDir}`)' "$found")"
  # Debian's CUDA libtorch excludes the CPU builds of Gloo and of PyTorch: take their CUDA builds.
  if command -v dpkg-query >/dev/null 2>&1 && installed libtorch-cuda-dev; then
    for i in "${!packages[@]}"; do
      case "${packages[$i]}" in libgloo-dev) packages[$i]=libgloo-cuda-dev ;; python3-torch) packages[$i]=python3-torch-cuda ;; esac
    done
  fi
elif [ -n "${LIBTORCH:-}" ] || [ -n "${Torch_DIR:-}" ]; then
  node scripts/find-libtorch.js >/dev/null || true  # prints what it looked for and the ways to get libtorch
  exit 1
else
  say "no libtorch found: installing Debian's libtorch-dev"
  packages=(libtorch-dev "${packages[@]}")
fi

# Debian 13 and Ubuntu 24.04 renamed some library packages for the 64-bit time_t transition (…t64).
apt_name() { if ! installed "$1" && apt-cache show "$1t64" >/dev/null 2>&1; then echo "$1t64"; else echo "$1"; fi; }

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for package in "${packages[@]}"; do
    installed "$package" || installed "${package}t64" || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      say "installing ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      for i in "${!missing[@]}"; do missing[$i]="$(apt_name "${missing[$i]}")"; done
      # --no-remove: apt stops rather than remove anything that is installed (a libtorch above all).
      apt-get install -y -qq --no-install-recommends --no-remove "${missing[@]}" >/dev/null
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
  # onnxruntime-node (a test peer) has its CPU binary in the package; its install step only downloads the
  # CUDA provider from NuGet, which fails offline.
  KERAS_TORCH_SKIP_INSTALL=1 ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi

# --- the native addon and the TypeScript ----------------------------------------------------------
# cmake-js rebuilds only what changed, so running this again is cheap.
node scripts/build-native.js
say "compiling TypeScript"
npm run --silent build:ts
say "ready"
