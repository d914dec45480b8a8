"""JA4 and SNI of the product's extractor against FoxIO's expected values, one command.

    python -m benchmarks.ja4_reference [--dir ../shared/data/reference/ja4] [--json OUT]

Every capture in ``--dir`` (``*.pcap``, ``*.pcapng``) goes through the real pcap reader and
flow table (:class:`edge_agent.pipeline.Pipeline`, L7 metadata on); each stream its
``<capture>.json`` gives a JA4 for (``JA4.1``, the first ClientHello's, and ``domain``, the
SNI) is looked up among the flow records by its two endpoints. Prints and writes JSON:
matches / total for JA4 and SNI, per capture, and every miss.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.common import REPO, Timer, add_json_arg, write_result
from contracts.events import FlowRecord
from edge_agent.capture.pcap import PcapSource
from edge_agent.pipeline import Pipeline

DEFAULT_DIR = REPO.parent / "shared" / "data" / "reference" / "ja4"


def _records(pcap: Path) -> tuple[list[FlowRecord], dict[str, int]]:
    pipe = Pipeline("ja4-ref")
    out = [e for pkt in PcapSource(pcap) for e in pipe.feed(pkt)] + pipe.close()
    return [e for e in out if isinstance(e, FlowRecord)], pipe.table.l7_stats.as_dict()


def _ends(src: str, sport: object, dst: str, dport: object) -> frozenset[str]:
    return frozenset((f"{src}|{sport}", f"{dst}|{dport}"))


def check(pcap: Path, expected: list[dict]) -> dict:
    recs, l7 = _records(pcap)
    by_ends: dict[frozenset[str], list[FlowRecord]] = {}
    for r in recs:
        by_ends.setdefault(_ends(r.src_ip, r.src_port, r.dst_ip, r.dst_port), []).append(r)
    res: dict = {"ja4": [0, 0], "sni": [0, 0], "misses": [], "l7": l7}
    for want in expected:
        if "JA4.1" not in want:
            continue
        key = _ends(want["src"], want["srcport"], want["dst"], want["dstport"])
        tls = next((r.tls for r in by_ends.get(key, []) if r.tls is not None), None)
        got_ja4, got_sni = (tls.ja4, tls.sni) if tls is not None else (None, None)
        res["ja4"][1] += 1
        res["ja4"][0] += got_ja4 == want["JA4.1"]
        if "domain" in want:
            res["sni"][1] += 1
            res["sni"][0] += got_sni == want["domain"]
        if got_ja4 != want["JA4.1"] or ("domain" in want and got_sni != want["domain"]):
            res["misses"].append(
                {
                    "stream": want.get("stream"),
                    "want": [want["JA4.1"], want.get("domain")],
                    "got": [got_ja4, got_sni],
                }
            )
    return res


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    add_json_arg(ap)
    args = ap.parse_args()
    caps = sorted(p for p in args.dir.glob("*.pcap*") if p.suffix in (".pcap", ".pcapng"))
    if not caps:
        print(f"no captures in {args.dir}", file=sys.stderr)
        return 2
    per: dict[str, dict] = {}
    with Timer() as clock:
        for cap in caps:
            expected_file = cap.with_name(cap.name + ".json")
            expected = json.loads(expected_file.read_text()) if expected_file.is_file() else []
            per[cap.name] = check(cap, expected)
        tot = {k: [sum(r[k][i] for r in per.values()) for i in (0, 1)] for k in ("ja4", "sni")}
    out = {
        "dir": str(args.dir),
        "captures": len(caps),
        "ja4_matches": tot["ja4"][0],
        "ja4_total": tot["ja4"][1],
        "ja4_match_rate": round(tot["ja4"][0] / tot["ja4"][1], 4) if tot["ja4"][1] else None,
        "sni_matches": tot["sni"][0],
        "sni_total": tot["sni"][1],
        "sni_match_rate": round(tot["sni"][0] / tot["sni"][1], 4) if tot["sni"][1] else None,
        "seconds": round(clock.seconds, 3),
        "per_capture": per,
    }
    print(write_result(args.json, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
