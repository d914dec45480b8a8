#!/usr/bin/env bash
# tests/arm/run-arm64.sh - run the aarch64 CPython 3.11 built by tests/arm/setup-sysroot.sh under
# qemu user mode.
#   run-arm64.sh script.py [args...]      run-arm64.sh -m pytest tests/ -q      run-arm64.sh -c 'code'
# Arguments are passed to python3.11 unchanged; the exit status is python's.
# Environment:
#   ARM64_DIR         base folder used by setup (default ~/.cache/fednids/arm64)
#   ARM64_CPU         emulated CPU (default cortex-a72 = Raspberry Pi 4; cortex-a76 = Pi 5)
#   ARM64_PYTHONPATH  extra entries appended to PYTHONPATH after the aarch64 site-packages
#                     (the host PYTHONPATH is NOT inherited: it may hold x86_64 extensions)
#   ARM64_PROOT=1     run through proot (apt-get install proot) so the emulated program can also
#                     exec aarch64 programs (subprocess of sys.executable, multiprocessing spawn);
#                     the default mode cannot, unless binfmt_misc is set up for qemu-aarch64.
# The guest shares the host's network, /proc, /tmp and all paths that are not in the sysroot,
# so a broker on 127.0.0.1 is reachable directly.
set -euo pipefail
ARM64_DIR=${ARM64_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fednids/arm64}
SYSROOT=$ARM64_DIR/sysroot
SITE=$ARM64_DIR/site
QEMU=${ARM64_QEMU:-$ARM64_DIR/qemu/qemu-aarch64}
die() { echo "run-arm64: ERROR: $*" >&2; exit 2; }
[ -x "$QEMU" ] || die "$QEMU missing: run setup-sysroot.sh first"
[ -x "$SYSROOT/usr/bin/python3.11" ] || die "$SYSROOT missing: run setup-sysroot.sh first"
[ -d "$SITE" ] || die "$SITE missing: run setup-sysroot.sh first"

export QEMU_CPU=${ARM64_CPU:-cortex-a72}
export QEMU_LD_PREFIX=$SYSROOT        # same as -L; inherited by children if binfmt_misc is used
export PYTHONPATH=$SITE${ARM64_PYTHONPATH:+:$ARM64_PYTHONPATH}
export PYTHONNOUSERSITE=1             # keep the host's ~/.local (x86_64) out of sys.path
unset PYTHONHOME PYTHONSTARTUP PYTHONEXECUTABLE

if [ "${ARM64_PROOT:-0}" = 1 ]; then
  command -v proot >/dev/null || die "ARM64_PROOT=1 needs proot (apt-get install proot)"
  binds=(-b /proc -b /dev -b /sys -b /tmp -b "$PWD" -b "$SITE")
  for f in /etc/resolv.conf /etc/hosts /etc/nsswitch.conf /etc/localtime /usr/share/zoneinfo /etc/ssl/certs "$HOME"; do
    [ -e "$f" ] && binds+=(-b "$f")
  done
  for p in ${ARM64_PYTHONPATH:+${ARM64_PYTHONPATH//:/ }}; do [ -e "$p" ] && binds+=(-b "$p"); done
  # fake /proc/cpuinfo that setup installs for qemu < 8.1
  [ -f "$SYSROOT/proc/cpuinfo" ] && binds+=(-b "$SYSROOT/proc/cpuinfo:/proc/cpuinfo")
  unset QEMU_LD_PREFIX                # proot does the path translation itself
  exec proot -q "$QEMU -cpu $QEMU_CPU" -r "$SYSROOT" "${binds[@]}" -w "$PWD" /usr/bin/python3.11 "$@"
fi
exec "$QEMU" -L "$SYSROOT" "$SYSROOT/usr/bin/python3.11" "$@"
