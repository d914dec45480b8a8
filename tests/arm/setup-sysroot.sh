#!/usr/bin/env bash
# tests/arm/setup-sysroot.sh - build an aarch64 (arm64) CPython 3.11 environment that runs on an
# x86_64 Debian 12 host under qemu user-mode emulation, like 64-bit Raspberry Pi OS (bookworm),
# with the agent's `edge` extra installed the way a Pi installs it. Called by the ARM tests'
# session fixture (tests/integration/arm/), so `make test` does the cold setup by itself.
#
# No Docker, no binfmt_misc, no chroot, no change to the host's apt/dpkg configuration:
#   1. arm64 .debs for Debian 12's python3.11 (3.11.2, the same as Raspberry Pi OS bookworm) and
#      their dependencies are fetched with apt-get using a private apt state under $CACHE, and
#      unpacked with dpkg-deb -x into $SYSROOT (no maintainer scripts are run).
#   2. a static qemu-aarch64 (>= 8.1 by default, from bookworm-backports) is unpacked into $QEMU_DIR.
#      Bookworm's own qemu 7.2 works for tflite-runtime, but ai-edge-litert >= 2.2 segfaults under it
#      because 7.2 shows the guest the host's x86 /proc/cpuinfo.
#   3. pip runs INSIDE the emulated python (Debian's pip wheel from python3-pip-whl) with
#      --target $SITE, so wheel tags and environment markers are resolved as on a real Pi.
#
# Re-running is cheap: every step is skipped when its inputs are unchanged; downloads are cached
# in $CACHE (apt lists and .debs, the qemu .deb, pip wheels in $CACHE/wheels).
#
# Settings (environment):
#   ARM64_DIR            base folder (default ~/.cache/fednids/arm64, outside the clone);
#                        sysroot/, site/, qemu/, cache/ live here
#   ARM64_CACHE          download cache (default $ARM64_DIR/cache)
#   ARM64_PIP_PACKAGES   extra pip requirements (default none)
#   ARM64_REQUIREMENTS   requirements file (default: the core + `edge` extra of pyproject.toml and
#                        the test runner, from tests/arm/edge_requirements.py), pinned by
#                        requirements/lock.txt (-c)
#   ARM64_HOST_PYTHON    host python 3.11+ reading pyproject.toml (default python3)
#   ARM64_PIP_ARGS       extra pip args (default --only-binary=:all:, see note below)
#   ARM64_EXTRA_DEBS     extra arm64 Debian packages for the sysroot (e.g. "libgomp1")
#   ARM64_QEMU           use this qemu-aarch64 binary instead of downloading one
#   ARM64_QEMU_SUITE     suite to take qemu from (default bookworm-backports; "bookworm" gives 7.2)
#   ARM64_CPU            emulated CPU (default cortex-a72 = Raspberry Pi 4; cortex-a76 = Pi 5; max)
#   ARM64_MIRROR, ARM64_SECURITY_MIRROR   Debian mirrors (default: the first ones in the host's apt sources)
# Note: without binfmt_misc the emulated python cannot exec other aarch64 programs (subprocess of
# sys.executable, pip building an sdist), hence --only-binary=:all:. See run-arm64.sh for proot mode.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ARM64_DIR=${ARM64_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fednids/arm64}
CACHE=${ARM64_CACHE:-$ARM64_DIR/cache}
SYSROOT=$ARM64_DIR/sysroot
SITE=$ARM64_DIR/site
QEMU_DIR=$ARM64_DIR/qemu
SUITE=bookworm
host_uri() {  # first apt source URI of the host whose path ends in $1 (deb822 or one-line format)
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } | awk '/^URIs:/{for(i=2;i<=NF;i++)print $i}'
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } | awk '/^deb /{print $2}'
}
MIRROR=${ARM64_MIRROR:-$(host_uri | grep -E '/debian/?$' | head -n1 || true)}
SECURITY_MIRROR=${ARM64_SECURITY_MIRROR:-$(host_uri | grep -E '/debian-security/?$' | head -n1 || true)}
[ -n "$MIRROR" ] || { echo "setup-sysroot: no Debian mirror in the host's apt sources; set ARM64_MIRROR" >&2; exit 1; }
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
DEBS="python3.11 libstdc++6 python3-pip-whl ${ARM64_EXTRA_DEBS:-}"
PIP_PACKAGES=${ARM64_PIP_PACKAGES:-}
PIP_ARGS=${ARM64_PIP_ARGS:---only-binary=:all:}
QEMU_SUITE=${ARM64_QEMU_SUITE:-bookworm-backports}
export QEMU_CPU=${ARM64_CPU:-cortex-a72}

STEP="start"
die() { echo "setup-sysroot: ERROR: $*" >&2; exit 1; }
trap 'rc=$?; echo "setup-sysroot: FAILED (exit $rc) during: $STEP" >&2; exit $rc' ERR
log() { printf '[arm64-setup %5ss] %s\n' "$SECONDS" "$*"; }

for c in apt-get dpkg-deb sha256sum awk find; do
  command -v "$c" >/dev/null || die "'$c' not found; this script needs a Debian/Ubuntu host"
done
[ "$(uname -m)" = x86_64 ] || log "warning: host is $(uname -m), not x86_64 (untested)"
[ -r "$KEYRING" ] || die "$KEYRING missing: apt-get install debian-archive-keyring"
mkdir -p "$ARM64_DIR" "$CACHE"
# one setup at a time per folder (parallel test sessions share ~/.cache/fednids/arm64)
if command -v flock >/dev/null; then
  exec 9>"$ARM64_DIR/.setup.lock"
  flock -w 1800 9 || die "another setup holds $ARM64_DIR/.setup.lock"
fi

# ---- private apt: apt_priv <name> <arch> <sources.list text> <apt-get args...> ---------------
apt_priv() {
  local name=$1 arch=$2 sources=$3; shift 3
  local A=$CACHE/apt-$name
  mkdir -p "$A/lists/partial" "$A/archives/partial" "$A/etc/sources.list.d" "$A/etc/preferences.d"
  [ -e "$A/status" ] || : > "$A/status"
  printf '%s\n' "$sources" > "$A/etc/sources.list"
  apt-get -q -o Debug::NoLocking=1 -o APT::Sandbox::User=root \
    -o APT::Architecture="$arch" -o APT::Architectures::="$arch" \
    -o Dir::State="$A" -o Dir::State::Lists="$A/lists" -o Dir::State::status="$A/status" \
    -o Dir::Cache="$A" -o Dir::Cache::Archives="$A/archives" \
    -o Dir::Etc::SourceList="$A/etc/sources.list" -o Dir::Etc::SourceParts="$A/etc/sources.list.d" \
    -o Dir::Etc::PreferencesParts="$A/etc/preferences.d" -o Dir::Etc::Preferences="$A/etc/preferences" \
    -o APT::Install-Recommends=false -o APT::Install-Suggests=false "$@"
}
apt_update() {  # refresh lists at most every 6 hours; go on with old lists if offline
  local name=$1 arch=$2 sources=$3; local A=$CACHE/apt-$name; mkdir -p "$A"
  if [ -n "$(find "$A/lists" -maxdepth 1 -name '*_Packages*' -mmin -360 -print -quit 2>/dev/null)" ] \
     && cmp -s <(printf '%s\n' "$sources") "$A/etc/sources.list"; then return 0; fi
  if ! apt_priv "$name" "$arch" "$sources" update >"$A/update.log" 2>&1 || grep -q '^[WE]: Failed' "$A/update.log"; then
    if [ -n "$(find "$A/lists" -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null)" ]; then
      log "warning: apt update for $name failed, using cached lists ($A/update.log)"
    else
      cat "$A/update.log" >&2; die "apt-get update for $name failed (network/mirror?)"
    fi
  fi
}

# ---- 1. arm64 sysroot ------------------------------------------------------------------------
STEP="apt update (arm64)"
ARM_SOURCES="deb [arch=arm64 signed-by=$KEYRING] $MIRROR $SUITE main
deb [arch=arm64 signed-by=$KEYRING] $MIRROR $SUITE-updates main
deb [arch=arm64 signed-by=$KEYRING] $SECURITY_MIRROR $SUITE-security main"
apt_update arm64 arm64 "$ARM_SOURCES"

STEP="resolve arm64 packages ($DEBS)"
read -r -a DEB_ARR <<<"$DEBS"
SIM=$(apt_priv arm64 arm64 "$ARM_SOURCES" -s install "${DEB_ARR[@]}" 2>&1) || { echo "$SIM" >&2; die "cannot resolve arm64 packages: $DEBS"; }
PKGLIST=$(awk '/^Inst /{v=$3; sub(/^\(/,"",v); a="?"; if (match($0, /\[(arm64|all)\]/)) a=substr($0, RSTART+1, RLENGTH-2); print $2" "v" "a}' <<<"$SIM" | sort)
[ -n "$PKGLIST" ] || die "apt resolved no packages for: $DEBS"
SYSROOT_STAMP=$(sha256sum <<<"$PKGLIST" | cut -c1-16)

if [ -x "$SYSROOT/usr/bin/python3.11" ] && [ "$(cat "$SYSROOT/.stamp" 2>/dev/null)" = "$SYSROOT_STAMP" ]; then
  log "sysroot up to date ($(wc -l <<<"$PKGLIST") packages)"
else
  STEP="download arm64 .debs"
  log "downloading $(wc -l <<<"$PKGLIST") arm64 packages (cached in $CACHE/apt-arm64/archives)"
  apt_priv arm64 arm64 "$ARM_SOURCES" -y -d install "${DEB_ARR[@]}" >"$CACHE/apt-arm64/download.log" 2>&1 \
    || { tail -20 "$CACHE/apt-arm64/download.log" >&2; die "downloading arm64 packages failed"; }
  STEP="unpack arm64 .debs"
  rm -rf "$SYSROOT.tmp"; mkdir -p "$SYSROOT.tmp"
  while read -r pkg ver arch; do
    f="$CACHE/apt-arm64/archives/${pkg}_${ver//:/%3a}_${arch}.deb"
    [ -f "$f" ] || die "expected $f after download"
    dpkg-deb -x "$f" "$SYSROOT.tmp"
  done <<<"$PKGLIST"
  [ -e "$SYSROOT.tmp/lib/ld-linux-aarch64.so.1" ] || die "sysroot lacks the aarch64 dynamic loader"
  echo "$SYSROOT_STAMP" > "$SYSROOT.tmp/.stamp"
  printf '%s\n' "$PKGLIST" > "$SYSROOT.tmp/.packages"
  rm -rf "$SYSROOT"; mv "$SYSROOT.tmp" "$SYSROOT"
  rm -f "$SITE/.stamp"    # new interpreter build: reinstall site
  log "sysroot ready: $SYSROOT ($(du -sh "$SYSROOT" | cut -f1))"
fi

# ---- 2. qemu-aarch64 -------------------------------------------------------------------------
if [ -n "${ARM64_QEMU:-}" ]; then
  [ -x "$ARM64_QEMU" ] || die "ARM64_QEMU=$ARM64_QEMU is not executable"
  QEMU=$QEMU_DIR/qemu-aarch64     # a link, so run-arm64.sh finds it without ARM64_QEMU
  rm -rf "$QEMU_DIR"; mkdir -p "$QEMU_DIR"; ln -s "$(readlink -f "$ARM64_QEMU")" "$QEMU"
else
  QEMU=$QEMU_DIR/qemu-aarch64
  QEMU_SOURCES="deb [arch=amd64 signed-by=$KEYRING] $MIRROR $QEMU_SUITE main"
  # bookworm 7.2: static binaries are in qemu-user-static; 8.x+ (backports): in qemu-user
  case $QEMU_SUITE in bookworm|bookworm-updates) QPKG=qemu-user-static ;; *) QPKG=qemu-user ;; esac
  STEP="find $QPKG in $QEMU_SUITE"
  apt_update qemu amd64 "$QEMU_SOURCES"
  QVER=$(apt_priv qemu amd64 "$QEMU_SOURCES" -s install "$QPKG/$QEMU_SUITE" 2>/dev/null \
         | awk -v p="$QPKG" '$1=="Inst" && $2==p {v=$3; sub(/^\(/,"",v); print v}')
  [ -n "$QVER" ] || die "package $QPKG not found in $QEMU_SUITE"
  if [ -x "$QEMU" ] && [ "$(cat "$QEMU_DIR/.stamp" 2>/dev/null)" = "$QPKG=$QVER" ]; then
    log "qemu up to date ($QPKG $QVER)"
  else
    STEP="download $QPKG $QVER"
    log "downloading $QPKG $QVER (amd64, ~60 MB, cached)"
    QDEB="$CACHE/apt-qemu/archives/${QPKG}_${QVER//:/%3a}_amd64.deb"
    if [ ! -s "$QDEB" ]; then
      ( cd "$CACHE/apt-qemu/archives" && apt_priv qemu amd64 "$QEMU_SOURCES" download "$QPKG=$QVER" ) \
        >"$CACHE/apt-qemu/download.log" 2>&1 || { tail -5 "$CACHE/apt-qemu/download.log" >&2; die "qemu download failed"; }
    fi
    STEP="unpack qemu"
    rm -rf "$QEMU_DIR.tmp"; mkdir -p "$QEMU_DIR.tmp/x"
    dpkg-deb --fsys-tarfile "$QDEB" | tar -x -C "$QEMU_DIR.tmp/x" --wildcards './usr/bin/qemu-aarch64*'
    QBIN=$(find "$QEMU_DIR.tmp/x/usr/bin" \( -name qemu-aarch64-static -o -name qemu-aarch64 \) -type f -print -quit)
    [ -n "$QBIN" ] || die "no qemu-aarch64 binary in $QDEB"
    mv "$QBIN" "$QEMU_DIR.tmp/qemu-aarch64"; rm -rf "$QEMU_DIR.tmp/x"
    echo "$QPKG=$QVER" > "$QEMU_DIR.tmp/.stamp"
    rm -rf "$QEMU_DIR"; mv "$QEMU_DIR.tmp" "$QEMU_DIR"
  fi
fi
STEP="check qemu"
QEMU_VERSION=$("$QEMU" --version | awk 'NR==1{print $3}')
[ -n "$QEMU_VERSION" ] || die "$QEMU does not run"
CPUS=$("$QEMU" -cpu help 2>&1 || true)   # qemu exits 1 after printing the list
grep -w -- "$QEMU_CPU" >/dev/null <<<"$CPUS" || die "qemu $QEMU_VERSION has no CPU model '$QEMU_CPU'"
log "qemu $QEMU_VERSION ($QEMU), cpu $QEMU_CPU"
# qemu < 8.1 passes the host's x86 /proc/cpuinfo to the guest, which crashes cpuinfo-based code
# (ai-edge-litert >= 2.2). Work around by shadowing it in the sysroot (-L looks there first).
rm -f "$SYSROOT/proc/cpuinfo"; rmdir "$SYSROOT/proc" 2>/dev/null || true
if printf '%s\n' "$QEMU_VERSION" 8.1 | sort -V -C; then
  log "warning: qemu $QEMU_VERSION < 8.1: installing a fake aarch64 /proc/cpuinfo in the sysroot"
  mkdir -p "$SYSROOT/proc"
  for n in $(seq 0 $(( $(nproc) - 1 ))); do
    printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$n"
  done > "$SYSROOT/proc/cpuinfo"
fi

STEP="run aarch64 python"
PY=("$QEMU" -L "$SYSROOT" "$SYSROOT/usr/bin/python3.11")
export PYTHONNOUSERSITE=1 QEMU_LD_PREFIX=$SYSROOT
unset PYTHONPATH PYTHONHOME
M=$("${PY[@]}" -c 'import platform; print(platform.machine(), platform.python_version())') \
  || die "the aarch64 python does not start under $QEMU"
[ "${M%% *}" = aarch64 ] || die "emulated python reports machine '${M%% *}', not aarch64"
log "emulated python: $M"

# ---- 3. aarch64 site-packages via pip running under emulation -------------------------------
STEP="pip install (aarch64)"
PIPWHL=$(find "$SYSROOT/usr/share/python-wheels" -name 'pip-*.whl' -print -quit)
[ -n "$PIPWHL" ] || die "pip wheel missing from the sysroot (python3-pip-whl)"
REQ_FILE=${ARM64_REQUIREMENTS:-}
if [ -z "$REQ_FILE" ]; then
  REQ_FILE=$ARM64_DIR/requirements-edge.txt
  "${ARM64_HOST_PYTHON:-python3}" "$HERE/edge_requirements.py" --test > "$REQ_FILE.tmp" && mv "$REQ_FILE.tmp" "$REQ_FILE"
fi
[ -r "$REQ_FILE" ] || die "requirements file $REQ_FILE not readable"
REQ_ARGS=(-r "$(readlink -f "$REQ_FILE")"); REQ_TEXT=$(cat "$REQ_FILE")
if [ -r "$ROOT/requirements/lock.txt" ]; then
  REQ_ARGS+=(-c "$ROOT/requirements/lock.txt"); REQ_TEXT+=$(cat "$ROOT/requirements/lock.txt")
fi
SITE_STAMP=$(printf '%s\n' "$SYSROOT_STAMP" "$PIP_PACKAGES" "$PIP_ARGS" "$REQ_TEXT" | sha256sum | cut -c1-16)
if [ -d "$SITE" ] && [ "$(cat "$SITE/.stamp" 2>/dev/null)" = "$SITE_STAMP" ]; then
  log "site-packages up to date ($SITE)"
else
  log "pip install (emulated) into $SITE: $PIP_PACKAGES ${REQ_ARGS[*]}"
  rm -rf "$SITE.tmp"
  PIP_PKG_ARR=(); [ -z "$PIP_PACKAGES" ] || read -r -a PIP_PKG_ARR <<<"$PIP_PACKAGES"; read -r -a PIP_ARG_ARR <<<"$PIP_ARGS"
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
  # download into a wheel folder first: pip's HTTP cache is not reliable behind every mirror,
  # and this lets a rebuild work offline
  mkdir -p "$CACHE/wheels"
  if ! "${PY[@]}" "$PIPWHL/pip" download -q -d "$CACHE/wheels" "${PIP_ARG_ARR[@]}" "${PIP_PKG_ARR[@]}" "${REQ_ARGS[@]}"; then
    log "warning: pip download failed; trying the wheels already in $CACHE/wheels"
  fi
  STEP="pip install from $CACHE/wheels"
  # --no-compile: byte-compiling everything under emulation costs ~15 s; python writes the .pyc
  # of the modules actually imported on first use instead (site/ stays writable)
  "${PY[@]}" "$PIPWHL/pip" install -q --no-compile --no-index --find-links "$CACHE/wheels" --target "$SITE.tmp" \
      "${PIP_ARG_ARR[@]}" "${PIP_PKG_ARR[@]}" "${REQ_ARGS[@]}" \
    || die "pip install under emulation failed (packages: $PIP_PACKAGES ${REQ_ARGS[*]}; pip args: $PIP_ARGS)"
  # byte-compile natively: the host's CPython 3.11 writes the same .pyc format as the emulated
  # 3.11 (same magic number), in seconds instead of a minute under emulation
  HOSTPY=${ARM64_HOST_PYTHON:-python3}
  if [ "$("$HOSTPY" -c 'import sys; print(sys.version_info[:2] == (3, 11))' 2>/dev/null)" = True ]; then
    "$HOSTPY" -m compileall -q -j 0 "$SITE.tmp" >/dev/null 2>&1 || log "warning: native byte-compile failed (harmless)"
  fi
  echo "$SITE_STAMP" > "$SITE.tmp/.stamp"
  rm -rf "$SITE"; mv "$SITE.tmp" "$SITE"
  log "site-packages ready ($(du -sh "$SITE" | cut -f1))"
fi

STEP="final check"
PYTHONPATH=$SITE "${PY[@]}" -c 'import sys, platform; assert platform.machine() == "aarch64"' \
  || die "final check failed"
log "done. sysroot $(du -sh "$SYSROOT" | cut -f1), site $(du -sh "$SITE" | cut -f1), qemu $(du -shL "$QEMU" | cut -f1), cache $(du -sh "$CACHE" | cut -f1)"
log "run scripts with: $HERE/run-arm64.sh script.py   (or -m pytest ...)"
