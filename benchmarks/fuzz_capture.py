"""Coverage-guided fuzzing (atheris / libFuzzer) of the capture parsers.

    python -m benchmarks.fuzz_capture [--seconds 300] [--json OUT] [--crash-dir DIR]

Two targets, each fuzzed for half of ``--seconds`` in its own child process:

- ``parse_frame``: ``edge_agent.capture.packet.parse_frame`` on one frame; the first byte of
  the input picks the link type (Ethernet, raw IP, Linux cooked v1/v2, BSD loopback, an
  unknown one), the rest is the frame. The contract: it returns a Packet, an ArpPacket or
  None and never raises.
- ``pcap``: ``edge_agent.capture.pcap.PcapSource`` over the input written as a file (pcap
  and pcapng, every frame parsed). The contract: it yields packets or raises
  ``CaptureError`` (a documented "not a capture"), nothing else.

Any other exception is a crash: the child records it (the input is written to
``--crash-dir``, one file per distinct exception site) and goes on fuzzing, so one run
reports every distinct crash it reaches. Seeds are valid frames and captures built here
with struct. atheris is an optional extra (``pip install 'fednids[fuzz]'``).

Output (JSON, also printed): per target ``executions``, ``seconds``, ``execs_per_s``,
``coverage`` (libFuzzer's ``cov``: code edges reached) and ``features`` (``ft``),
``corpus`` size, ``crashes`` (distinct) with their exception and input file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks.common import add_json_arg, write_result

TARGETS = ("parse_frame", "pcap")
LINKTYPES = (1, 101, 113, 276, 0, 108, 228, 229, 12, 147)
"""Picked by the input's first byte (modulo): Ethernet, raw, SLL, SLL2, null, loop, IPv4,
IPv6, raw (alt), and one the parser does not know."""


# --------------------------------------------------------------------------- seeds
def _ipv4_tcp() -> bytes:
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, b"\n\0\0\1", b"\n\0\0\2"
    )
    return ip + tcp


def _ipv6_udp() -> bytes:
    udp = struct.pack("!HHHH", 5353, 53, 8 + 4, 0) + b"abcd"
    return (
        struct.pack("!IHBB", 6 << 28, len(udp), 17, 64)
        + b"\xfe\x80"
        + b"\0" * 13
        + b"\1"
        + b"\xfe\x80"
        + b"\0" * 13
        + b"\2"
        + udp
    )


def _eth(etype: int, payload: bytes) -> bytes:
    return b"\xaa" * 6 + b"\xbb" * 6 + struct.pack("!H", etype) + payload


def _arp() -> bytes:
    body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
    return _eth(0x0806, body + b"\xbb" * 6 + b"\n\0\0\1" + b"\0" * 6 + b"\n\0\0\2")


def frame_seeds() -> list[bytes]:
    """Inputs of the ``parse_frame`` target: link-type selector byte + frame."""
    vlan = _eth(0x8100, struct.pack("!HH", 5, 0x0800) + _ipv4_tcp())
    sll = struct.pack("!HHH8sH", 0, 1, 6, b"\xbb" * 6 + b"\0\0", 0x0800) + _ipv4_tcp()
    return [
        bytes([0]) + _eth(0x0800, _ipv4_tcp()),
        bytes([0]) + _eth(0x86DD, _ipv6_udp()),
        bytes([0]) + _arp(),
        bytes([0]) + vlan,
        bytes([1]) + _ipv4_tcp(),
        bytes([2]) + sll,
        bytes([4]) + b"\2\0\0\0" + _ipv4_tcp(),
    ]


def pcap_seeds() -> list[bytes]:
    """Inputs of the ``pcap`` target: a small pcap and a small pcapng."""
    frames = [_eth(0x0800, _ipv4_tcp()), _arp(), _eth(0x86DD, _ipv6_udp())]
    pcap = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, fr in enumerate(frames):
        pcap += struct.pack("<IIII", 1_700_000_000 + i, 0, len(fr), len(fr)) + fr
    shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
    opts = struct.pack("<HHB3x", 9, 1, 6) + struct.pack("<HH", 0, 0)
    idb_body = struct.pack("<HHI", 1, 0, 65535) + opts
    idb = (
        struct.pack("<II", 1, 12 + len(idb_body)) + idb_body + struct.pack("<I", 12 + len(idb_body))
    )
    ng = shb + idb
    for i, fr in enumerate(frames):
        pad = fr + b"\0" * (-len(fr) % 4)
        ts = (1_700_000_000 + i) * 1_000_000
        body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(fr), len(fr)) + pad
        ng += struct.pack("<II", 6, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    return [pcap, ng]


# --------------------------------------------------------------------------- the child
def _site(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    last = tb[-1] if tb else None
    where = f"{Path(last.filename).name}:{last.lineno}" if last else "?"
    return f"{type(exc).__name__} at {where}"


def _worker(target: str, crash_dir: Path) -> None:  # pragma: no cover - runs under libFuzzer
    import atheris

    with atheris.instrument_imports():
        from edge_agent.capture.errors import CaptureError
        from edge_agent.capture.packet import ParseStats, parse_frame
        from edge_agent.capture.pcap import PcapSource

    crash_dir.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    fd, tmp_name = tempfile.mkstemp(
        prefix="fuzz-", suffix=".pcap", dir="/dev/shm" if Path("/dev/shm").is_dir() else None
    )
    os.close(fd)
    tmp = Path(tmp_name)

    def record(data: bytes, exc: BaseException) -> None:
        site = _site(exc)
        if site in seen:
            return
        seen.add(site)
        name = hashlib.sha1(data).hexdigest()[:16]
        (crash_dir / f"{target}-{name}.bin").write_bytes(data)
        line = {
            "target": target,
            "site": site,
            "error": repr(exc)[:300],
            "input": f"{target}-{name}.bin",
        }
        with (crash_dir / "crashes.jsonl").open("a") as f:
            f.write(json.dumps(line) + "\n")

    def one_frame(data: bytes) -> None:
        if not data:
            return
        lt = LINKTYPES[data[0] % len(LINKTYPES)]
        try:
            parse_frame(data[1:], lt, 1.0, len(data) - 1, ParseStats())
        except Exception as exc:  # noqa: BLE001 - any exception is the finding
            record(data, exc)

    def one_pcap(data: bytes) -> None:
        tmp.write_bytes(data)
        try:
            for _ in PcapSource(tmp):
                pass
        except CaptureError:
            pass
        except Exception as exc:  # noqa: BLE001 - any exception is the finding
            record(data, exc)

    atheris.Setup(sys.argv[:1] + sys.argv[4:], one_frame if target == "parse_frame" else one_pcap)
    atheris.Fuzz()


# --------------------------------------------------------------------------- the parent
_DONE = re.compile(r"Done (\d+) runs in (\d+) second")
_STAT = re.compile(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)")


def run_target(target: str, seconds: int, crash_dir: Path, work: Path) -> dict[str, Any]:
    corpus = work / f"corpus-{target}"
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = frame_seeds() if target == "parse_frame" else pcap_seeds()
    for i, s in enumerate(seeds):
        (corpus / f"seed-{i}").write_bytes(s)
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.fuzz_capture",
        "--worker",
        target,
        str(crash_dir),
        f"-max_total_time={seconds}",
        "-timeout=10",
        "-rss_limit_mb=1024",
        "-max_len=4096",
        "-print_final_stats=1",
        str(corpus),
    ]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=seconds + 120)
    wall = time.monotonic() - t0
    log = proc.stderr
    (work / f"{target}.log").write_text(log)
    stats = _STAT.findall(log)
    done = _DONE.search(log)
    execs = int(done.group(1)) if done else (int(stats[-1][0]) if stats else 0)
    last = stats[-1] if stats else ("0", "0", "0", "0")
    crashes = []
    jl = crash_dir / "crashes.jsonl"
    if jl.is_file():
        crashes = [c for c in map(json.loads, jl.read_text().splitlines()) if c["target"] == target]
    return {
        "executions": execs,
        "seconds": round(wall, 1),
        "execs_per_s": round(execs / wall, 1) if wall else 0.0,
        "coverage": int(last[1]),
        "features": int(last[2]),
        "corpus": int(last[3]),
        "crashes": crashes,
        "exit_code": proc.returncode,
        "libfuzzer_finished": done is not None,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        _worker(argv[1], Path(argv[2]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--seconds", type=int, default=300, help="total fuzzing time (split over targets)"
    )
    add_json_arg(ap)
    ap.add_argument("--crash-dir", type=Path, default=None, help="where crashing inputs go")
    ap.add_argument("--targets", default=",".join(TARGETS))
    args = ap.parse_args(argv)
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install 'fednids[fuzz]'", file=sys.stderr)
        return 2
    targets = [t for t in args.targets.split(",") if t]
    with tempfile.TemporaryDirectory(prefix="fuzz-capture-") as tmpd:
        work = Path(tmpd)
        crash_dir = args.crash_dir or work / "crashes"
        crash_dir.mkdir(parents=True, exist_ok=True)
        (crash_dir / "crashes.jsonl").unlink(missing_ok=True)  # this run's crashes only
        per = max(args.seconds // len(targets), 1)
        result: dict[str, Any] = {"fuzzer": "atheris (libFuzzer)", "seconds_per_target": per}
        result["targets"] = {t: run_target(t, per, crash_dir, work) for t in targets}
        result["crashes_total"] = sum(len(r["crashes"]) for r in result["targets"].values())
        result["executions_total"] = sum(r["executions"] for r in result["targets"].values())
    print(write_result(args.json, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
