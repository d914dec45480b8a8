"""The hub's models scored on a labelled capture (``fednids models eval-hub``).

The capture is replayed through the agent's pipeline (with the rule engine and the LSTM
voting as on a sensor). Scored are the flows whose first packet is at or after
``from_packet`` (the held-out part), per label:

* the Isolation Forest artifact given (the fraction of flows over its threshold),
* the hub's per-node learner (:class:`hub.services.iforest_service.IForestService` itself):
  the capture is one node whose learning period is its first ``learn_flows`` flows; the
  report says the last packet any learning flow contains, which must be before
  ``from_packet`` for the figures to be held out,
* the threat classifier: its family against the true family of each held-out attack flow
  (over all of them, and the mean over attacks, as a flood has thousands of flows), and
  the share of held-out benign flows it calls an attack. Its votes are the rules and LSTM
  (run here) and the given Isolation Forest's verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from contracts.events import AnomalyEvent
from models.classifier import VOTES, ThreatClassifier
from models.errors import ModelError
from models.iforest import IForestModel
from models.training.captures import DEFAULT_FAMILIES, family_of, read_capture
from models.training.dataset import EdgeVoter

BATCH = 500


def _rates(flagged: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    per = {
        str(lab): {
            "flows": int((labels == lab).sum()),
            "flagged": int(flagged[labels == lab].sum()),
            "rate": round(float(flagged[labels == lab].mean()), 4),
        }
        for lab in sorted(set(labels.tolist()))
    }
    benign = labels == "benign"
    return {
        "benign_flagged_rate": round(float(flagged[benign].mean()), 4) if benign.any() else None,
        "attack_flagged_rate": round(float(flagged[~benign].mean()), 4)
        if (~benign).any()
        else None,
        "per_label": per,
    }


def evaluate(
    pcap: Path,
    labels: Path,
    from_packet: int,
    *,
    iforest_dir: Path,
    classifier_dir: Path | None,
    learn_flows: int = 2000,
    families: Mapping[str, str] = DEFAULT_FAMILIES,
) -> dict[str, Any]:
    from hub.services.iforest_service import IForestService, NodeLearning

    voter = EdgeVoter()
    fs = read_capture(
        pcap, labels, None, families=families, detectors=[voter.engine], on_flow=voter.hook
    )
    flows = fs.flows
    if not flows:
        raise ModelError(f"{pcap}: no flows")
    first = np.asarray(fs.first_packet)
    held = first >= from_packet
    x = np.asarray([f.features for f in flows], dtype=np.float64)
    lab = np.asarray([f.label or "benign" for f in flows])
    forest = IForestModel.load(iforest_dir)
    shipped = forest.score(x) > forest.threshold
    report: dict[str, Any] = {
        "capture": fs.source | {"held_out_from_packet": from_packet},
        "held_out_flows": int(held.sum()),
        "iforest": {"model": str(iforest_dir), "threshold": forest.threshold}
        | _rates(shipped[held], lab[held]),
    }
    if learn_flows > 0:
        svc = IForestService(forest, NodeLearning(flows=learn_flows))
        hits: set[str] = set()
        for i in range(0, len(flows), BATCH):
            out = svc.handle(list(flows[i : i + BATCH]))
            hits |= {str(a.flow_id) for a in out if isinstance(a, AnomalyEvent)}
        node = np.asarray([f.flow_id in hits for f in flows])
        learning = min(learn_flows, len(flows))
        report["iforest_per_node"] = {
            "learning_flows": learning,
            "learning_last_packet": int(max(fs.last_packet[:learning])),
            "baseline": svc.baselines.status("capture")[0] if svc.baselines else "off",
            "flow_ids_unique": len({f.flow_id for f in flows}) == len(flows),
        } | _rates(node[held], lab[held])
    if classifier_dir is not None:
        clf = ThreatClassifier.load(classifier_dir)
        votes = voter.of(flows)
        votes[:, VOTES.index("iforest")] = shipped.astype(float)
        pred, _conf, _why = clf.predict(x[held], votes[held])
        truth = [family_of(str(lb), families) for lb in lab[held]]
        pred_a, truth_a = np.asarray(pred), np.asarray(truth)
        attack = truth_a != "benign"
        per = {}
        for name in sorted(set(lab[held][attack].tolist())):
            m = lab[held] == name
            per[str(name)] = {
                "flows": int(m.sum()),
                "family": family_of(str(name), families),
                "accuracy": round(float((pred_a[m] == truth_a[m]).mean()), 4),
                "predicted": {
                    str(k): int(v)
                    for k, v in zip(*np.unique(pred_a[m], return_counts=True), strict=True)
                },
            }
        report["classifier"] = {
            "model": str(classifier_dir),
            "attack_family_accuracy": round(float((pred_a[attack] == truth_a[attack]).mean()), 4)
            if attack.any()
            else None,
            "attack_family_accuracy_macro": round(
                float(np.mean([v["accuracy"] for v in per.values()])), 4
            )
            if per
            else None,
            "benign_called_attack_rate": round(float((pred_a[~attack] != "benign").mean()), 4)
            if (~attack).any()
            else None,
            "per_attack": per,
        }
    return report
