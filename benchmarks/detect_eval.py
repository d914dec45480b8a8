"""Detection quality on real data, held out, with a report folder.

    python -m benchmarks.detect_eval --data ../shared/data --out reports/detect_eval \
        [--pcap replay_bench.pcap --labels replay_bench_labels.csv] [--quick]

Writes OUT/results.json, OUT/report.md and PNG plots (confusion matrices, ROC curves,
epsilon vs AUC). Data comes from ``--data`` (laid out as ../shared/data); nothing of it is
committed. No figure is measured on training data; no setting is tuned on a test part
(the LSTM's training settings come from the federated sweep on the replay's benign training
prefix, see docs/federated.md).

* NSL-KDD (official split), CIC-IDS2017 improved samples and UNSW-NB15 10K (stratified 70/30):
  HistGradientBoosting, the hub classifier's model family (``models/eval/tabular.py``). On
  NSL-KDD, whose tests hold attack types never seen in training, paired with a novelty gate
  fitted on normal training rows only (``models/eval/novelty.py``; operating point fixed
  beforehand: 1 % of held-out normal training rows flagged). The classifier alone and a sweep
  of the gate's operating point are reported beside it (sensitivity, not a choice).
* The replay capture through the edge pipeline (``edge_replay.py``): the edge score (novelty +
  rules) and the LSTM autoencoder alone, trained on the benign prefix (first 22,472 packets).
* Privacy: that LSTM trained with Opacus DP-SGD at epsilon 1, 3, 8 and without DP.
* The int8 TFLite model: size, per-window latency in ai-edge-litert (one thread), and the
  Pearson correlation of its reconstruction errors with torch's on held-out benign windows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import percentiles, write_result
from models.eval import tabular

PEERS = {
    "nsl_kdd_binary_accuracy": {
        "NBTree (Tavallaee et al. 2009)": {"KDDTest+": 0.820, "KDDTest-21": 0.662},
        "RNN-IDS (Yin et al. 2017)": {"KDDTest+": 0.833, "KDDTest-21": 0.686},
    }
}
EPSILONS = ("1", "3", "8", "inf")
NOVELTY_QUANTILE = 0.99
"""The novelty gate's operating point, fixed beforehand: 1 % of held-out normal training rows."""


def _plot_confusion(res: dict[str, Any], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, m = res["confusion"]["labels"], np.asarray(res["confusion"]["matrix"], dtype=float)
    norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * len(labels), 0.8 + 0.5 * len(labels)))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if m[i, j]:
                ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def tabular_part(data: Path, out: Path) -> dict[str, Any]:
    res: dict[str, Any] = {}
    # NSL-KDD's official tests hold attack types training never shows: the classifier is
    # paired with the novelty gate (normal training rows only, 1 % of them flagged), as the
    # hub pairs it with detectors trained on normal traffic. The stratified splits hold no
    # unseen class: the classifier alone.
    gate = NOVELTY_QUANTILE
    jobs = [
        (
            "nsl_kdd_binary",
            lambda: tabular.load_nsl_kdd(data / "nsl_kdd", False),
            tabular.NSL_CATEGORICAL,
            gate,
        ),
        (
            "nsl_kdd_5class",
            lambda: tabular.load_nsl_kdd(data / "nsl_kdd", True),
            tabular.NSL_CATEGORICAL,
            gate,
        ),
        ("cicids2017", lambda: tabular.load_cicids2017(data / "cicids2017_improved"), None, None),
        ("unsw_nb15", lambda: tabular.load_unsw_nb15(data / "unsw_nb15"), None, None),
    ]
    for name, load, cats, q in jobs:
        t0 = time.perf_counter()
        print(f"detect_eval: {name} ...", file=sys.stderr, flush=True)
        r = tabular.evaluate(load(), cats, novelty_quantile=q)
        r["seconds"] = round(time.perf_counter() - t0, 1)
        res[name] = r
        for test, tr in r["tests"].items():
            _plot_confusion(
                tr,
                f"{name} — {test}",
                out / f"confusion_{name}_{test.replace(' ', '_').replace('%', 'pct')}.png",
            )
    return res


def lstm_part(
    pcap: Path, labels: Path, train_packets: int, out: Path, quick: bool
) -> dict[str, Any]:
    import torch

    from benchmarks import edge_replay, fl_rounds
    from federated.export import export_global
    from federated.local_data import windows_from_raw
    from models.lstm_ae import (
        LstmConfig,
        PrivacyConfig,
        build_model,
        get_weights,
        reconstruction_errors,
        train_epochs,
    )
    from models.train import tflite_errors

    torch.set_num_threads(1)
    y, attacks = edge_replay.load_labels(labels)
    sel = np.arange(len(y)) >= train_packets
    print("detect_eval: replay, edge score ...", file=sys.stderr, flush=True)
    base = edge_replay.run(pcap, train_packets, None, None)
    edge = edge_replay.metrics(y[sel], base["scores"][sel], np.asarray(attacks)[sel])
    flows = fl_rounds.training_flows(pcap, train_packets)
    lo, hi = fl_rounds.base_model(flows, out / "work" / "base", 10)
    windows = windows_from_raw(
        [f.src_ip for f in flows],
        np.asarray([f.end_ts for f in flows]),
        np.asarray([f.features for f in flows], dtype=np.float32),
        lo,
        hi,
        10,
    )
    idx = np.random.default_rng(0).permutation(len(windows))
    cut = int(len(windows) * 0.8)
    train, held = windows[idx[:cut]], windows[idx[cut:]]
    by_eps: dict[str, Any] = {}
    parity: dict[str, Any] = {}
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for eps in EPSILONS[-1:] if quick else EPSILONS:
        print(f"detect_eval: LSTM at epsilon {eps} ...", file=sys.stderr, flush=True)
        cfg = LstmConfig(hidden=16, epochs=5 if quick else 15, batch_size=64, lr=0.02, seed=0)
        model = build_model(cfg)
        privacy = None if eps == "inf" else PrivacyConfig(float(eps), delta=1e-5, max_grad_norm=0.1)
        result = train_epochs(model, train, cfg, privacy)
        held_err = reconstruction_errors(model, held)
        model_dir = out / "work" / f"lstm-eps-{eps}"
        export_global(
            get_weights(model),
            10,
            cfg.hidden,
            lo,
            hi,
            float(np.quantile(held_err, 0.995)),
            model_dir,
            out / "work" / "base",  # the base model dir: its calibration windows
        )
        res = edge_replay.run(pcap, train_packets, None, model_dir)
        m = edge_replay.metrics(y[sel], res["lstm_scores"][sel], np.asarray(attacks)[sel])
        by_eps[eps] = {"epsilon_spent": None if privacy is None else round(result.epsilon, 3), **m}
        from sklearn.metrics import roc_curve

        fpr, tpr, _ = roc_curve(y[sel], res["lstm_scores"][sel])
        curves[f"LSTM eps {eps}"] = (fpr, tpr)
        if eps == "inf":
            blob = (model_dir / "model.tflite").read_bytes()
            lite = tflite_errors(blob, held[:500])
            parity = {
                "tflite_parity_pearson": round(float(np.corrcoef(held_err[:500], lite)[0, 1]), 4),
                "tflite_model_bytes": len(blob),
                "tflite_window_latency_us": _latency_us(blob, held[:200]),
                "heldout_windows": len(held),
            }
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y[sel], base["scores"][sel])
    curves["edge score (novelty + rules)"] = (fpr, tpr)
    _plot_roc(curves, out / "roc_replay.png")
    if not quick:
        _plot_eps(by_eps, out / "epsilon_vs_auc.png")
    return {"edge": edge, "lstm_by_epsilon": by_eps, **parity, "train_windows": len(train)}


def _latency_us(blob: bytes, windows: np.ndarray) -> dict[str, float | None]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=blob, num_threads=1)
    it.allocate_tensors()
    i0 = it.get_input_details()[0]
    scale, zero = i0["quantization"]
    q = [np.clip(np.round(w / scale + zero), -128, 127).astype(np.int8)[None] for w in windows]
    times = []
    for _ in range(3):
        for x in q:
            t = time.perf_counter_ns()
            it.set_tensor(i0["index"], x)
            it.invoke()
            times.append((time.perf_counter_ns() - t) / 1000)
    return percentiles(times, (50, 99))


def _plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for name, (fpr, tpr) in curves.items():
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], color="grey", ls=":")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("Replay capture (held-out part), per packet")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_gate_sweep(
    sweep: dict[str, dict[str, float]], alone: dict[str, float], path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for test, by_q in sweep.items():
        qs = [float(q) for q in by_q]
        (line,) = ax.plot(qs, list(by_q.values()), marker="o", label=f"{test}, classifier + gate")
        ax.axhline(alone[test], color=line.get_color(), ls=":", label=f"{test}, classifier alone")
    ax.axvline(NOVELTY_QUANTILE, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("gate quantile, held-out normal training rows (dashed: reported)", fontsize=8)
    ax.set_ylabel("binary accuracy")
    ax.set_title("NSL-KDD: sensitivity to the novelty gate", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_eps(by_eps: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(list(by_eps), [v["roc_auc"] for v in by_eps.values()], marker="o")
    ax.set_xlabel("epsilon (delta 1e-5; inf = no DP)")
    ax.set_ylabel("ROC AUC, LSTM alone")
    ax.set_title("LSTM autoencoder: accuracy vs privacy")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(results: dict[str, Any], path: Path) -> None:
    lines = [
        "# Detection evaluation (held-out data only)",
        "",
        "| metric | value | target |",
        "| --- | --- | --- |",
    ]
    targets = {
        "nsl_kdd_test_plus_accuracy": ">= 0.90",
        "nsl_kdd_test_21_accuracy": ">= 0.75",
        "cicids2017_macro_f1": ">= 0.98",
        "unsw_nb15_macro_f1": ">= 0.98",
        "tflite_parity_pearson": ">= 0.999",
    }
    for k in ("nsl_kdd_test_plus_accuracy", "nsl_kdd_test_21_accuracy", "cicids2017_macro_f1",
              "unsw_nb15_macro_f1", "replay_auc", "tflite_parity_pearson", "tflite_model_bytes"):  # fmt: skip
        lines.append(f"| {k} | {results.get(k)} | {targets.get(k, '')} |")
    lines += ["", f"auc_by_epsilon (LSTM alone): {results.get('auc_by_epsilon')}",
              f"tflite_window_latency_us: {results.get('tflite_window_latency_us')}", "",
              "NSL-KDD accuracy is binary (normal vs attack), classifier + novelty gate at the "
              f"{NOVELTY_QUANTILE} quantile of held-out normal training rows; the classifier "
              f"alone: {results.get('nsl_kdd_supervised_only_accuracy')}; gate sweep "
              f"(sensitivity): {results.get('nsl_kdd_gate_sweep')}. 5-class results are in "
              "results.json.",
              f"Peers (binary accuracy): {json.dumps(PEERS['nsl_kdd_binary_accuracy'])}", "",
              "Plots: " + ", ".join(sorted(p.name for p in path.parent.glob('*.png')))]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--pcap", type=Path)
    ap.add_argument("--labels", type=Path)
    ap.add_argument("--train-packets", type=int, default=22472)
    ap.add_argument("--quick", action="store_true", help="no DP study, fewer epochs")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tab = tabular_part(args.data, args.out)
    results: dict[str, Any] = {
        "nsl_kdd_test_plus_accuracy": tab["nsl_kdd_binary"]["tests"]["KDDTest+"]["accuracy"],
        "nsl_kdd_test_21_accuracy": tab["nsl_kdd_binary"]["tests"]["KDDTest-21"]["accuracy"],
        "nsl_kdd_5class_test_plus_accuracy": tab["nsl_kdd_5class"]["tests"]["KDDTest+"]["accuracy"],
        "nsl_kdd_5class_test_21_accuracy": tab["nsl_kdd_5class"]["tests"]["KDDTest-21"]["accuracy"],
        "nsl_kdd_supervised_only_accuracy": {
            t: tab["nsl_kdd_binary"]["tests"][t]["supervised"]["accuracy"]
            for t in ("KDDTest+", "KDDTest-21")
        },
        "nsl_kdd_gate_sweep": {
            t: tab["nsl_kdd_binary"]["tests"][t]["gate_sweep"] for t in ("KDDTest+", "KDDTest-21")
        },
        "cicids2017_macro_f1": tab["cicids2017"]["tests"]["held-out 30%"]["macro_f1"],
        "unsw_nb15_macro_f1": tab["unsw_nb15"]["tests"]["held-out 30%"]["macro_f1"],
        "tabular": tab,
        "peers": PEERS,
    }
    _plot_gate_sweep(
        results["nsl_kdd_gate_sweep"],
        results["nsl_kdd_supervised_only_accuracy"],
        args.out / "nsl_kdd_gate_sweep.png",
    )
    if args.pcap and args.labels:
        lstm = lstm_part(args.pcap, args.labels, args.train_packets, args.out, args.quick)
        results |= {
            "replay_auc": lstm["edge"]["roc_auc"],
            "replay_detection_at_1pct_fpr": lstm["edge"]["detection_rate_at_1pct_fpr"],
            "auc_by_epsilon": {e: v["roc_auc"] for e, v in lstm["lstm_by_epsilon"].items()},
            "tflite_parity_pearson": lstm.get("tflite_parity_pearson"),
            "tflite_window_latency_us": lstm.get("tflite_window_latency_us"),
            "tflite_model_bytes": lstm.get("tflite_model_bytes"),
            "replay": lstm,
        }
    results["seconds"] = round(time.perf_counter() - t0, 1)
    write_result(args.out / "results.json", results)
    report(results, args.out / "report.md")
    keys = [k for k in results if k not in ("tabular", "replay", "peers")]
    print(json.dumps({k: results[k] for k in keys}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
