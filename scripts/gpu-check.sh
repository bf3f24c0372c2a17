#!/usr/bin/env bash
# The CUDA check, for a machine with an NVIDIA GPU and PyTorch (pip, e.g. 2.x with CUDA) but possibly no
# Node.js and no network. In about 5 minutes (at most 8) it:
#   1. builds the addon against that machine's libtorch (the pip wheel's torch/share/cmake/Torch, through
#      cmake-js; without cmake, or when CMake cannot configure the CUDA libtorch because no CUDA toolkit is
#      installed, directly with g++ on the wheel's headers and libraries, as torch.utils.cpp_extension does);
#   2. runs the CUDA tests (test/cuda.test.ts);
#   3. trains the seed CNN on the GPU for a fixed number of steps with keras-torch and with PyTorch, on the same
#      model, batch and optimizer, and prints both speeds and their ratio.
#
# What it needs on that machine, next to this checkout (with node_modules/ from `npm ci` and dist/ from
# `npm run build:ts` copied along):
#   - a Node.js 20+ binary. Take yours along: `mkdir -p .gpu-check && cp "$(which node)" .gpu-check/node`
#     (or `xz -T0 -c "$(which node)" > .gpu-check/node.xz`, a quarter of the size), or set KERAS_TORCH_NODE;
#   - python3 with torch (or KERAS_TORCH_PYTHON), and g++ (C++17).
# Results: a log on stdout, and gpu-check.json in $OUT (when set) or in .gpu-check/.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$(date +%s)
say() { printf 'gpu-check [%3ss]: %s\n' "$(( $(date +%s) - started ))" "$*"; }
fail() { say "FAILED: $*"; exit 1; }

results_dir=${OUT:-$root/.gpu-check}
mkdir -p "$results_dir" .gpu-check
work=$(mktemp -d "${TMPDIR:-/tmp}/keras-torch-gpu-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- Node.js ----------------------------------------------------------------------------------------
node=${KERAS_TORCH_NODE:-}
if [ -z "$node" ] && [ -x .gpu-check/node ]; then node=$root/.gpu-check/node; fi
if [ -z "$node" ] && [ -f .gpu-check/node.xz ]; then
  xz -dc .gpu-check/node.xz > "$work/node" && chmod +x "$work/node" && node=$work/node
fi
if [ -z "$node" ]; then node=$(command -v node || true); fi
[ -n "$node" ] || fail "no Node.js: copy one along (cp \"\$(which node)\" .gpu-check/node) or set KERAS_TORCH_NODE"
"$node" --version >/dev/null 2>&1 || fail "$node does not run here (a different architecture or glibc?)"
say "node $("$node" --version) at $node"
[ -d node_modules/node-addon-api ] && [ -d node_modules/node-api-headers ] || fail "node_modules/ is missing: run npm ci where there is a network and copy it along"

# --- PyTorch ----------------------------------------------------------------------------------------
python=${KERAS_TORCH_PYTHON:-python3}
torch_info=$("$python" - <<'EOF'
import json, os, torch
from torch.utils import cpp_extension
print(json.dumps({
    "torch": torch.__version__, "cuda": torch.version.cuda, "gpu": torch.cuda.is_available(),
    "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    "abi": int(torch._C._GLIBCXX_USE_CXX11_ABI), "torchDir": os.path.join(torch.utils.cmake_prefix_path, "Torch"),
    "include": cpp_extension.include_paths(), "lib": os.path.join(os.path.dirname(torch.__file__), "lib"),
}))
EOF
) || fail "$python cannot import torch (set KERAS_TORCH_PYTHON to the interpreter that has it)"
field() { "$node" -e "const v = JSON.parse(process.argv[1])[process.argv[2]]; console.log(Array.isArray(v) ? v.join(' ') : v)" "$torch_info" "$1"; }
say "torch $(field torch), CUDA $(field cuda), GPU: $(field device), C++11 ABI: $(field abi)"
[ "$(field gpu)" = true ] || fail "PyTorch sees no CUDA GPU here"

# --- 1. build ---------------------------------------------------------------------------------------
binary=$root/build-gpu/Release/keras_torch.node
build_with_cmake() {
  command -v cmake >/dev/null 2>&1 || { say "no cmake here"; return 1; }
  # find-libtorch.js finds the wheel through python; TorchConfig.cmake's TORCH_CXX_FLAGS sets the wheel's ABI.
  KERAS_TORCH_PYTHON=$python CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) timeout 300 "$node" scripts/build-native.js --out build-gpu
}
build_with_gxx() {
  # What CMakeLists.txt does, spelled out: the wheel's headers, its -D_GLIBCXX_USE_CXX11_ABI, Node-API headers,
  # libtorch_cuda kept with --no-as-needed (its static initialisers register the CUDA kernels), an rpath.
  command -v g++ >/dev/null 2>&1 || fail "no g++ here: install a C++17 compiler"
  local includes=() dir
  for dir in $(field include) "$root/node_modules/node-api-headers/include" "$root/node_modules/node-addon-api"; do includes+=("-I$dir"); done
  local flags=(-std=c++17 -O2 -fPIC -DNDEBUG "-D_GLIBCXX_USE_CXX11_ABI=$(field abi)" -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS
               -DNODE_ADDON_API_DISABLE_DEPRECATED -Wno-unused-parameter "${includes[@]}")
  # Data-parallel training needs Gloo's headers (wheels ship them); Torch's CMake targets add these defines.
  for dir in $(field include); do
    if [ -f "$dir/gloo/algorithm.h" ]; then flags+=(-DKERAS_TORCH_HAVE_GLOO -DUSE_DISTRIBUTED -DUSE_C10D_GLOO); break; fi
  done
  mkdir -p "$work/objects" "$(dirname "$binary")"
  printf '%s\n' native/*.cc | timeout 300 xargs -P "$(nproc)" -I{} sh -c 'g++ "$@" -c "{}" -o "'"$work"'/objects/$(basename {} .cc).o"' _ "${flags[@]}" \
    || fail "compiling with g++ failed"
  local lib; lib=$(field lib)
  g++ -shared -o "$binary" "$work"/objects/*.o -L"$lib" -Wl,--no-as-needed -ltorch -ltorch_cuda -ltorch_cpu -lc10_cuda -lc10 \
    -Wl,--as-needed -Wl,-rpath,"$lib" || fail "linking with g++ failed"
}
say "building the addon against torch $(field torch)"
if [ "${KERAS_TORCH_GPU_BUILD:-cmake}" = cmake ] && build_with_cmake > "$results_dir/build.log" 2>&1; then
  say "built with cmake-js"
else
  say "cmake-js build not possible here (see $results_dir/build.log); building with g++ directly"
  build_with_gxx >> "$results_dir/build.log" 2>&1 || fail "the build failed: $(tail -5 "$results_dir/build.log")"
fi
export KERAS_TORCH_BINARY=$binary
"$node" -e "const i = require(process.argv[1]).backendInfo(); console.log('addon: libtorch', i.libtorchVersion, 'CUDA', i.cudaAvailable, 'devices', i.cudaDeviceCount)" "$binary" \
  || fail "the addon does not load"

# --- 2. CUDA tests ----------------------------------------------------------------------------------
if [ ! -f dist/index.js ]; then
  [ -f node_modules/typescript/bin/tsc ] || fail "dist/ is missing and TypeScript is not installed"
  "$node" node_modules/typescript/bin/tsc -p tsconfig.build.json && "$node" scripts/write-esm-entry.js >/dev/null || fail "building dist/ failed"
fi
say "running the CUDA tests"
tests_status=passed
timeout 180 "$node" node_modules/jest/bin/jest.js --ci test/cuda.test.ts 2>&1 | tee "$results_dir/cuda-tests.log" | tail -20
[ "${PIPESTATUS[0]}" = 0 ] || tests_status=failed
grep -q "skipped" "$results_dir/cuda-tests.log" && grep -q "CUDA tests skipped" "$results_dir/cuda-tests.log" && tests_status=skipped
say "CUDA tests: $tests_status"

# --- 3. benchmark: the seed CNN, one training step per call, keras-torch vs PyTorch --------------------
steps=${KERAS_TORCH_GPU_STEPS:-300}
warmup=20
cat > "$work/bench.js" <<'EOF'
const k = require(process.argv[2]);
const [steps, warmup] = [Number(process.argv[3]), Number(process.argv[4])];
k.setDevice('cuda');
k.setSeed(0);
const model = new k.Sequential();
model.add(new k.Conv2D(32, [3, 3], { inputShape: [64, 64, 3], activation: 'relu' }));
model.add(new k.MaxPooling2D({ poolSize: [2, 2] }));
model.add(new k.Flatten());
model.add(new k.Dense(128, { activation: 'relu' }));
model.add(new k.Dense(1, { activation: 'sigmoid' }));
model.compile({ optimizer: 'adam', loss: 'binary_crossentropy' });
const x = k.tensor(Float32Array.from({ length: 32 * 64 * 64 * 3 }, () => Math.random()), [32, 64, 64, 3]);
const y = k.tensor(Float32Array.from({ length: 32 }, (_, i) => i % 2), [32, 1]);
(async () => {
  for (let i = 0; i < warmup; i++) await model.trainOnBatch(x, y);
  const start = process.hrtime.bigint();
  let loss;
  for (let i = 0; i < steps; i++) loss = await model.trainOnBatch(x, y);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ stepsPerSecond: steps / seconds, loss, device: model.device }));
})().catch((error) => { console.error(error); process.exit(1); });
EOF
cat > "$work/bench.py" <<'EOF'
import json, sys, time, torch
steps, warmup = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
device = torch.device("cuda")
model = torch.nn.Sequential(
    torch.nn.Conv2d(3, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
    torch.nn.Linear(32 * 31 * 31, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1)).to(device)
model = model.to(memory_format=torch.channels_last)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
loss_fn = torch.nn.BCEWithLogitsLoss()
# Batches come from host memory each step, as keras-torch's do.
x = torch.rand(32, 64, 64, 3).permute(0, 3, 1, 2)
y = (torch.arange(32) % 2).float().reshape(32, 1)
def step():
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(x.to(device)), y.to(device))
    loss.backward()
    optimizer.step()
    return loss.item()  # keras-torch reports each step's loss too
for _ in range(warmup): step()
torch.cuda.synchronize()
start = time.perf_counter()
for _ in range(steps): loss = step()
torch.cuda.synchronize()
print(json.dumps({"stepsPerSecond": steps / (time.perf_counter() - start), "loss": loss}))
EOF
say "benchmark: seed CNN, batch 32 of 64x64x3, Adam, $steps steps after $warmup warm-up steps"
ours=$(timeout 150 "$node" "$work/bench.js" "$root/dist/index.js" "$steps" "$warmup" | tail -1) || fail "the keras-torch benchmark failed"
theirs=$(timeout 150 "$python" "$work/bench.py" "$steps" "$warmup" | tail -1) || fail "the PyTorch benchmark failed"
say "keras-torch: $ours"
say "PyTorch:     $theirs"

"$node" - "$torch_info" "$ours" "$theirs" "$tests_status" "$(( $(date +%s) - started ))" > "$results_dir/gpu-check.json" <<'EOF'
const [info, ours, theirs, tests, seconds] = process.argv.slice(2);
const [a, b] = [JSON.parse(ours), JSON.parse(theirs)];
const { include, ...torch } = JSON.parse(info);
console.log(JSON.stringify({ torch, cudaTests: tests, kerasTorch: a, pytorch: b,
  ratio: a.stepsPerSecond / b.stepsPerSecond, seconds: Number(seconds) }, null, 2));
EOF
say "keras-torch runs at $("$node" -e "const r = require(process.argv[1]); console.log(r.ratio.toFixed(2))" "$results_dir/gpu-check.json")x PyTorch's speed; results in $results_dir/gpu-check.json"
[ "$tests_status" = passed ] || fail "the CUDA tests $tests_status"
say "done"
