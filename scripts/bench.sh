#!/usr/bin/env bash
# make bench: run every benchmark in benchmarks/, one JSON file each, into reports/bench/
# (benchmarks/common.py write_result adds the machine block: CPUs, load at start and end, commit).
# Real data is read from FEDNIDS_DATA (default ../shared/data); nothing from it is committed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT=${FEDNIDS_BENCH_OUT:-reports/bench}
DATA=${FEDNIDS_DATA:-../shared/data}
mkdir -p "$OUT"
status=0
run() {  # name, then the command
  local name=$1; shift
  [ -f "benchmarks/$name.py" ] || { echo "bench: $name not built yet, skipped"; return; }
  echo "bench: $name" >&2
  if ! "$PY" -m "benchmarks.$name" "$@"; then echo "bench: $name FAILED"; status=1; fi
}
REPLAY_PCAP=$OUT/replay_bench.pcap
REPLAY_LABELS=$OUT/replay_bench_labels.csv
if [ -f "$DATA/../tools/make_replay_bench.py" ] && [ ! -f "$REPLAY_PCAP" ]; then
  python3 "$DATA/../tools/make_replay_bench.py" --data "$DATA" --out-pcap "$REPLAY_PCAP" --out-labels "$REPLAY_LABELS"
fi
# the agent's learning period = the replay's attack-free prefix (packets 0..22471, 55 h of capture time)
[ -f "$REPLAY_PCAP" ] && run edge_replay --pcap "$REPLAY_PCAP" --labels "$REPLAY_LABELS" --train-packets 22472 --learn-hours 55 --lstm models/artifacts/lstm-ae --json "$OUT/edge_replay.json"
[ -f "$REPLAY_PCAP" ] && run operator_eval --pcap "$REPLAY_PCAP" --labels "$REPLAY_LABELS" --start-packet 22472 --agent-args="--learn-hours 55" --json "$OUT/operator_eval.json"
run demo_eval --json "$OUT/demo_eval.json"
[ -d "$DATA" ] && run detect_eval --data "$DATA" --out "$OUT/detect_eval" $( [ -f "$REPLAY_PCAP" ] && echo --pcap "$REPLAY_PCAP" --labels "$REPLAY_LABELS")
run bridge_throughput --json "$OUT/bridge_throughput.json"
run ingest_rate --json "$OUT/ingest_rate.json"
for r in 1000 5000 10000; do run e2e_latency --rate "$r" --json "$OUT/e2e_latency_$r.json"; done
run hub_services --json "$OUT/hub_services.json"
run predictor_eval --json "$OUT/predictor_eval.json"
[ -f "$REPLAY_PCAP" ] && run predictor_real --pcap "$REPLAY_PCAP" --labels "$REPLAY_LABELS" --json "$OUT/predictor_real.json"
[ -f "$REPLAY_PCAP" ] && run fl_rounds --pcap "$REPLAY_PCAP" --labels "$REPLAY_LABELS" --train-packets 22472 --json "$OUT/fl_rounds.json"
# one hostile SuperNode against the same federation without it (docs/federated.md)
run fl_hostile --json "$OUT/fl_hostile.json"
# utility under DP: the points and seeds of docs/federated.md's table (a JSONL cache beside the JSON)
[ -f "$REPLAY_PCAP" ] && run dp_utility --pcap "$REPLAY_PCAP" --labels "$REPLAY_LABELS" --json "$OUT/dp_utility.json" --points fed-dp,central-dp,fed-nodp,central-nodp,fed-finetune --seeds 0,1,2
run dashboard_startup --json "$OUT/dashboard_startup.json"
# edge visibility and SOC formats
REF=$DATA/reference
[ -d "$REF/ja4" ] && run ja4_reference --dir "$REF/ja4" --json "$OUT/ja4_reference.json"
[ -f "$REPLAY_PCAP" ] && run l7_cost --pcap "$REPLAY_PCAP" --json "$OUT/l7_cost.json"
[ -f "$REPLAY_PCAP" ] && run ioc_match --pcap "$REPLAY_PCAP" --json "$OUT/ioc_match.json"
[ -f "$REPLAY_PCAP" ] && run inventory_cost --pcap "$REPLAY_PCAP" --json "$OUT/inventory_cost.json"
[ -f "$REPLAY_PCAP" ] && run evidence_ring --pcap "$REPLAY_PCAP" --json "$OUT/evidence_ring.json"
[ -f "$REPLAY_PCAP" ] && [ -f "$REF/suricata-eve-schema.json" ] && run eve_export --capture "$REPLAY_PCAP" --schema "$REF/suricata-eve-schema.json" --out "$OUT/eve_export" --json "$OUT/eve_export.json"
# hostile input and loss windows
run fuzz_capture --seconds 300 --json "$OUT/fuzz_capture.json"
run outbox_durability --json "$OUT/outbox_durability.json"
run agent_outage --json "$OUT/agent_outage.json"
run kafka_outage --json "$OUT/kafka_outage.json"
run arm64_emulation --json "$OUT/arm64_emulation.json"
echo "bench: results in $OUT"
exit $status
