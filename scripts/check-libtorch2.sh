#!/usr/bin/env bash
# Builds and tests keras-torch against Debian 13 (trixie)'s libtorch 2.6 inside a Debian 13 root made with
# debootstrap, on any Debian/Ubuntu machine where we are root (the README's test command runs against the
# machine's own libtorch; this runs it against another one).
#
#   bash scripts/check-libtorch2.sh [cpu] [JEST ARGS...]   libtorch-dev 2.6 (CPU): set-up, build, whole jest suite
#   bash scripts/check-libtorch2.sh cuda [JEST ARGS...]    libtorch-cuda-dev 2.6: the CUDA build check (heavy: ~10 GB
#                                                           of packages; not run by CI, see the README)
#   bash scripts/check-libtorch2.sh MODE --shell           a shell in the prepared root (after the set-up)
#
# What it does, printing each step:
#   1. makes the root (debootstrap --variant=minbase trixie, from the Debian mirror this machine's apt uses) or
#      reuses the one cached under $KERAS_TORCH_ROOT_CACHE (default /var/cache/keras-torch): one root per mode,
#      made in a temporary folder and renamed only once complete, remade when older than
#      $KERAS_TORCH_ROOT_MAX_AGE_DAYS (default 14) or when KERAS_TORCH_FRESH_ROOT=1; one run at a time (flock);
#   2. bind-mounts /proc, /sys, /dev and the checkout (read-only, at /mnt/checkout) into it, copies
#      resolv.conf and this machine's CA bundle (the npm registry is reached through it);
#   3. installs nodejs and npm from trixie (and, in the cuda mode, libtorch-cuda-dev first, see below);
#   4. copies the checkout's files (tracked and untracked, less what git ignores) to /work/keras-torch in the
#      root, keeping the root's own node_modules/ and build/ from the last run (cmake rebuilds what changed).
#      The checkout's own build/, node_modules/ and dist/ belong to this machine's libtorch: building in place
#      would swap the host's addon for a 2.6 one;
#   5. runs the README's test command there (scripts/test.sh: scripts/setup.sh installs what is missing with
#      apt-get, npm ci, builds the addon, compiles the TypeScript; then the whole jest suite).
#
# Environment: KERAS_TORCH_DEBIAN_MIRROR (default: the first Debian mirror in /etc/apt/sources.list{,.d}),
# KERAS_TORCH_ROOT_CACHE, KERAS_TORCH_ROOT_MAX_AGE_DAYS, KERAS_TORCH_FRESH_ROOT=1, KERAS_TORCH_PREBUILD=1
# (also file the built addon under the checkout's prebuilds/, see scripts/prebuild.js).
set -euo pipefail
# The whole script is one function, read before it runs: editing this file during a run cannot derail it.
main() {
checkout="$(cd "$(dirname "$0")/.." && pwd)"

mode=cpu
case "${1:-}" in
  cpu | cuda) mode="$1"; shift ;;
esac
shell=0
if [ "${1:-}" = "--shell" ]; then shell=1; shift; fi

say() { printf '\n=== check-libtorch2 (%s): %s\n' "$mode" "$*"; }
fail() { printf 'check-libtorch2 (%s): %s\n' "$mode" "$*" >&2; exit 1; }
elapsed() { local s=$((SECONDS - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

[ "$(uname -s)" = Linux ] || fail "needs Linux (a Debian root made with debootstrap)"
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, mount and chroot); run it with sudo"
command -v apt-get >/dev/null || fail "needs a Debian/Ubuntu machine (debootstrap from apt)"

cache="${KERAS_TORCH_ROOT_CACHE:-/var/cache/keras-torch}"
root="$cache/trixie-$mode"
max_age_days="${KERAS_TORCH_ROOT_MAX_AGE_DAYS:-14}"
stamp="$root/.keras-torch-root"
started=$SECONDS

# --- the Debian mirror this machine's apt uses --------------------------------------------------------
# The first http(s) URI that serves a Debian suite (not -security) with main, from deb822 .sources files or
# one-line sources.list entries; its -security counterpart when one is listed.
apt_sources() { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; }
find_mirror() {
  local want="$1"  # main | security
  apt_sources | awk -v want="$want" '
    function consider(uris, suites, comps,   u, n, i) {
      if (comps !~ /(^| )main( |$)/) return
      if (want == "security" && suites !~ /-security/) return
      if (want == "main" && (suites ~ /-security/ || suites !~ /[a-z]/)) return
      n = split(uris, u, " ")
      for (i = 1; i <= n; i++) if (u[i] ~ /^https?:\/\/.*debian/) { print u[i]; found = 1; exit }
    }
    /^[ \t]*#/ { next }
    /^deb[ \t]/ {
      line = $0; sub(/\[[^]]*\]/, "", line); split(line, f, /[ \t]+/)
      comps = ""; for (i = 4; i in f; i++) comps = comps " " f[i]
      consider(f[2], f[3], comps); next
    }
    /^URIs:/ { uris = $0; sub(/^URIs:[ \t]*/, "", uris) }
    /^Suites:/ { suites = $0; sub(/^Suites:[ \t]*/, "", suites) }
    /^Components:/ { comps = $0; sub(/^Components:[ \t]*/, "", comps) }
    /^[ \t]*$/ { if (uris != "") consider(uris, suites, comps); uris = suites = comps = "" }
    END { if (!found && uris != "") consider(uris, suites, comps) }'
}
mirror="${KERAS_TORCH_DEBIAN_MIRROR:-$(find_mirror main)}"
[ -n "$mirror" ] || fail "found no Debian mirror in /etc/apt/sources.list{,.d}; set KERAS_TORCH_DEBIAN_MIRROR"
security_mirror="$(find_mirror security)"

components=main
[ "$mode" = cuda ] && components="main contrib non-free"

# --- one run at a time ------------------------------------------------------------------------------
mkdir -p "$cache"
exec 9>"$cache/lock"
if ! flock -n 9; then
  say "another run holds $cache/lock; waiting (at most 60 minutes)"
  flock -w 3600 9 || fail "gave up waiting for $cache/lock"
fi

# --- mounts: made here, always undone on exit --------------------------------------------------------
mounted=()
mount_in() {  # mount_in TARGET MOUNT-ARGS...: mounts unless already mounted, and remembers it for the exit
  local target="$root$1"; shift
  mkdir -p "$target"
  if mountpoint -q "$target"; then umount "$target" || fail "$target is mounted and cannot be unmounted"; fi
  mount "$@" "$target"
  mounted+=("$target")
}
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" || true; done
  mounted=()
}
trap unmount_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Never delete a root with anything mounted inside it (rm would walk into /dev or the checkout).
remove_root() {
  local dir="$1"
  [ -d "$dir" ] || return 0
  if findmnt -rn -o TARGET | grep -q "^$dir\(/\|$\)"; then
    for target in $(findmnt -rn -o TARGET | grep "^$dir\(/\|$\)" | sort -r); do umount "$target" || umount -l "$target"; done
  fi
  if findmnt -rn -o TARGET | grep -q "^$dir\(/\|$\)"; then fail "$dir still has mounts; not removing it"; fi
  rm -rf --one-file-system "$dir"
}

# --- 1. the root --------------------------------------------------------------------------------------
reuse=0
if [ -f "$stamp" ] && [ "${KERAS_TORCH_FRESH_ROOT:-0}" != 1 ]; then
  age_days=$(( ($(date +%s) - $(stat -c %Y "$stamp")) / 86400 ))
  if [ "$age_days" -lt "$max_age_days" ]; then reuse=1; else say "the cached root is $age_days days old (limit $max_age_days): making a new one"; fi
fi
if [ "$reuse" = 1 ]; then
  say "reusing the Debian 13 root $root (made $(stat -c %y "$stamp" | cut -d. -f1))"
else
  command -v debootstrap >/dev/null || { say "installing debootstrap"; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  [ -e /usr/share/debootstrap/scripts/trixie ] || fail "this debootstrap ($(debootstrap --version)) does not know trixie; install a newer debootstrap"
  remove_root "$root"
  remove_root "$root.partial"
  say "making a Debian 13 root in $root with debootstrap --variant=minbase trixie from $mirror (about 2 minutes)"
  t=$SECONDS
  if ! debootstrap --variant=minbase trixie "$root.partial" "$mirror" >"$cache/debootstrap-$mode.log" 2>&1; then
    tail -20 "$cache/debootstrap-$mode.log" >&2
    fail "debootstrap failed (log: $cache/debootstrap-$mode.log)"
  fi
  mv "$root.partial" "$root"
  {
    echo "Types: deb"; echo "URIs: $mirror"; echo "Suites: trixie trixie-updates"; echo "Components: $components"
    echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    if [ -n "$security_mirror" ]; then
      echo; echo "Types: deb"; echo "URIs: $security_mirror"; echo "Suites: trixie-security"; echo "Components: $components"
      echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    fi
  } >"$root/etc/apt/sources.list.d/debian.sources"
  rm -f "$root/etc/apt/sources.list"
  # No service may start inside the root (packages' post-install scripts try).
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  printf 'mode=%s\nmirror=%s\ndebootstrap=%s\n' "$mode" "$mirror" "$(debootstrap --version)" >"$root/.keras-torch-root.partial"
  say "root made in $(elapsed "$t")"
fi

# --- 2. mounts, resolv.conf, CA certificates ----------------------------------------------------------
mount_in /proc -t proc proc
mount_in /sys --bind /sys
mount_in /dev --bind /dev
mount_in /dev/pts --bind /dev/pts
mount_in /dev/shm --bind /dev/shm
mount_in /mnt/checkout --bind "$checkout"
mount -o remount,bind,ro "$root/mnt/checkout"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# npm reaches its registry through this machine's CA bundle (which may hold a CA of its own); a copy of its
# own, since installing ca-certificates inside the root regenerates /etc/ssl/certs.
ca_bundle=""
for candidate in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
  if [ -n "$candidate" ] && [ -f "$candidate" ]; then ca_bundle="$candidate"; break; fi
done
mkdir -p "$root/etc/keras-torch"
if [ -n "$ca_bundle" ]; then cp -L "$ca_bundle" "$root/etc/keras-torch/host-ca-certificates.crt"; fi

in_root() {  # runs a bash script in the root with a clean environment
  local pass=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
    DEBIAN_FRONTEND=noninteractive TERM="${TERM:-dumb}" CI="${CI:-}")
  if [ -n "$ca_bundle" ]; then
    pass+=(NODE_EXTRA_CA_CERTS=/etc/keras-torch/host-ca-certificates.crt npm_config_cafile=/etc/keras-torch/host-ca-certificates.crt)
  fi
  local name
  for name in $(compgen -e); do
    case "$name" in OPENBLAS_* | KERAS_TORCH_* | JEST_* | LIBTORCH | Torch_DIR) pass+=("$name=${!name}") ;; esac
  done
  chroot "$root" /usr/bin/env -i "${pass[@]}" /bin/bash -c "$@"
}

# --- 3. system packages: nodejs and npm from trixie (cuda: the CUDA libtorch before setup.sh looks) ----
packages=(nodejs npm tar)
t=$SECONDS
say "installing ${packages[*]} in the root (apt-get, from trixie)"
in_root '
  set -euo pipefail
  missing=()
  for p in "$@"; do dpkg-query -W -f="\${Status}" "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  if [ ${#missing[@]} -eq 0 ]; then echo "already installed: $*"; exit 0; fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/var/log/keras-torch-apt.log 2>&1 || {
    tail -30 /var/log/keras-torch-apt.log; exit 1; }
' _ "${packages[@]}" || fail "installing ${packages[*]} failed"
if [ "$mode" = cuda ]; then
  # libtorch-cuda-dev (contrib) depends on nvidia-cudnn (contrib), an installer whose post-install script
  # downloads cuDNN from NVIDIA: offline it fails, and dpkg leaves it and everything above it unconfigured.
  # nvidia-cuda-toolkit (non-free): find_package(Torch) runs CMake's CUDA detection, which needs nvcc.
  say "installing libtorch-cuda-dev and nvidia-cuda-toolkit in the root (several GB; nvidia-cudnn may need NVIDIA's site)"
  in_root '
    set -uo pipefail
    log=/var/log/keras-torch-apt-cuda.log
    installed() { dpkg-query -W -f="\${Status}" "$1" 2>/dev/null | grep -q "install ok installed"; }
    if installed libtorch-cuda-dev && installed nvidia-cuda-toolkit; then
      echo "already installed: libtorch-cuda-dev nvidia-cuda-toolkit"
    else
      apt-get update -qq
      timeout 3600 apt-get install -y -qq --no-install-recommends libtorch-cuda-dev nvidia-cuda-toolkit >$log 2>&1
      if ! installed nvidia-cudnn && dpkg-query -W nvidia-cudnn >/dev/null 2>&1; then
        echo "nvidia-cudnn: its post-install script, which downloads cuDNN from NVIDIA, failed (this machine does not reach NVIDIA):"
        grep -E "curl: \\(|Download failed|checksum mismatch|nvidia-cudnn .*returned error" $log | sed -e "s/.*curl:/curl:/" -e "s/^/    /"
        echo "cuDNN is absent from this root. nvidia-cudnn is marked configured without it so that libtorch-cuda-dev installs;"
        echo "the addon then loads with CUDA off and says why, naming nvidia-cudnn (the tests check both)."
        printf "#!/bin/sh\nexit 0\n" >/var/lib/dpkg/info/nvidia-cudnn.postinst
        dpkg --configure -a >>$log 2>&1
        timeout 3600 apt-get install -y -qq --no-install-recommends libtorch-cuda-dev nvidia-cuda-toolkit >>$log 2>&1
      fi
      installed libtorch-cuda-dev && installed nvidia-cuda-toolkit || { tail -30 $log; exit 1; }
    fi
    if ls /usr/lib/x86_64-linux-gnu/libcudnn.so.* >/dev/null 2>&1; then echo "cuDNN: $(ls /usr/lib/x86_64-linux-gnu/libcudnn.so.*)"; else echo "cuDNN: absent (nvidia-cudnn did not download it)"; fi
  ' || fail "installing libtorch-cuda-dev and nvidia-cuda-toolkit failed"
fi
[ -f "$root/.keras-torch-root.partial" ] && mv "$root/.keras-torch-root.partial" "$stamp"
say "packages ready in $(elapsed "$t")"

# --- 4. the checkout's files ----------------------------------------------------------------------------
t=$SECONDS
work="$root/work/keras-torch"
mkdir -p "$work"
# What the last run left, less the root's own npm packages and builds (cached between runs).
find "$work" -mindepth 1 -maxdepth 1 ! -name node_modules ! -name build ! -name build-prebuild -exec rm -rf --one-file-system {} +
if git -C "$checkout" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$checkout" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) \
    | (cd "$checkout" && tar --null -T - -cf -) | tar -xf - -C "$work"
else
  (cd "$checkout" && tar --exclude=./node_modules --exclude=./build --exclude='./build-*' --exclude=./dist --exclude=./prebuilds -cf - .) | tar -xf - -C "$work"
fi
say "copied the checkout ($(git -C "$checkout" log -1 --format='%h %s' 2>/dev/null | cut -c1-80 || echo 'not a git checkout')) to /work/keras-torch in $(elapsed "$t")"

# --- 5. set-up, build and tests ---------------------------------------------------------------------------
in_root '
  set -euo pipefail
  cd /work/keras-torch
  printf "in the root: %s; node %s, npm %s\n" "$(cat /etc/debian_version)" "$(node --version)" "$(npm --version)"
' || fail "the root does not run node"

if [ "$shell" = 1 ]; then
  say "a shell in the root (the checkout's copy is /work/keras-torch); exit to unmount"
  in_root 'cd /work/keras-torch && bash scripts/setup.sh; exec bash -i' </dev/tty
  exit
fi

# The Python peers (python3-torch-cuda here) cannot import without cuDNN: the cuda mode goes without them,
# and the tests that compare against them skip with the reason.
[ "$mode" = cuda ] && export KERAS_TORCH_PEERS=0
t=$SECONDS
say "set-up in the root: scripts/setup.sh (system packages, npm ci, the addon against libtorch 2.6, TypeScript)"
in_root 'cd /work/keras-torch && bash scripts/setup.sh' || fail "scripts/setup.sh failed in the root"
in_root '
  cd /work/keras-torch
  node -e "const l=require(\"./scripts/find-libtorch\").findLibtorch(); console.log(\"libtorch \"+l.version+\" (\"+(l.cuda?\"CUDA\":\"CPU\")+\") from \"+l.source+\": \"+l.torchDir)"
  dpkg-query -W -f="\${Package} \${Version}\n" libtorch-dev libtorch-cuda-dev python3-torch python3-keras-preprocessing nodejs 2>/dev/null || true
'
say "set-up done in $(elapsed "$t")"

if [ "${KERAS_TORCH_PREBUILD:-0}" = 1 ]; then
  # scripts/prebuild.js checks that the binary loads here, in its own root, before it files it; then the
  # binary and its manifest entry go to the checkout's prebuilds/, where `npm pack` takes them.
  say "filing the addon as a prebuilt binary (scripts/prebuild.js in the root) and copying it to the checkout's prebuilds/"
  in_root 'cd /work/keras-torch && rm -rf prebuilds && node scripts/prebuild.js' || fail "scripts/prebuild.js failed in the root"
  node -e '
    const fs = require("fs"), path = require("path");
    const [from, to] = process.argv.slice(1);
    const read = (dir) => { try { return JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")); } catch { return { package: "keras-torch", prebuilds: [] }; } };
    const made = read(from), into = read(to);
    for (const entry of made.prebuilds) {
      fs.mkdirSync(path.dirname(path.join(to, entry.file)), { recursive: true });
      fs.copyFileSync(path.join(from, entry.file), path.join(to, entry.file));
      into.prebuilds = into.prebuilds.filter((other) => other.file !== entry.file).concat(entry);
      console.log(`prebuilds/${entry.file}: ${(entry.size / 1024).toFixed(0)} KiB, libtorch ${entry.libtorch.version} (${entry.libtorch.cuda ? "CUDA" : "CPU"})`);
    }
    into.prebuilds.sort((a, b) => a.file.localeCompare(b.file));
    fs.writeFileSync(path.join(to, "manifest.json"), JSON.stringify(into, null, 2) + "\n");
  ' "$work/prebuilds" "$checkout/prebuilds" || fail "copying the prebuilt binary to $checkout/prebuilds failed"
fi

jest_env=()
if [ "$mode" = cuda ]; then
  in_root 'cd /work/keras-torch && echo "the addon links: $(readelf -d build/Release/keras_torch.node | sed -n "s/.*Shared library: \[\(.*\)\]/\1/p" | tr "\n" " ")"'
  if ! ls "$root"/usr/lib/x86_64-linux-gnu/libcudnn.so.* >/dev/null 2>&1; then
    say "cuDNN is absent: the suite runs with a stand-in libcudnn made for the tests only (test/helpers/make-cudnn-stand-in.sh), so that libtorch_cuda loads"
    in_root 'cd /work/keras-torch && bash test/helpers/make-cudnn-stand-in.sh /opt/keras-torch-cudnn-stand-in' || fail "making the stand-in cuDNN failed"
    jest_env=(LD_LIBRARY_PATH=/opt/keras-torch-cudnn-stand-in KERAS_TORCH_TEST_CUDNN_STAND_IN=/opt/keras-torch-cudnn-stand-in)
  fi
fi

t=$SECONDS
say "$([ $# -eq 0 ] && echo "the whole jest suite" || echo "jest") in the root (${jest_env[*]} npx jest --ci $*)"
status=0
in_root 'cd /work/keras-torch && env "$@"' _ "${jest_env[@]}" npx jest --ci "$@" || status=$?
say "jest finished in $(elapsed "$t") with exit status $status; whole run $(elapsed "$started")"
exit "$status"
}
main "$@"
