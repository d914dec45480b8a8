"""The public tabular data sets: loaders and a held-out evaluation of a gradient-boosted
classifier (the same model family as the hub's threat classifier).

* NSL-KDD: train on ``KDDTrain+_20Percent``, test on ``KDDTest+`` and ``KDDTest-21`` (the
  official split; the tests hold attack types never seen in training). Reported binary
  (normal vs attack) and 5-class (normal, DoS, Probe, R2L, U2R).
* CIC-IDS2017 (improved) and UNSW-NB15 (10K): a stratified 70/30 split with a fixed seed;
  identifiers that would let a model memorise hosts or times (flow id, addresses, source
  port, timestamp) are dropped.

Nothing is tuned on the test parts: the model's settings are fixed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score
from sklearn.model_selection import train_test_split

from models.errors import ModelError
from models.eval.novelty import NormalGate, gated

NSL_COLUMNS = [
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land",
    "wrong_fragment", "urgent", "hot", "num_failed_logins", "logged_in", "num_compromised",
    "root_shell", "su_attempted", "num_root", "num_file_creations", "num_shells",
    "num_access_files", "num_outbound_cmds", "is_host_login", "is_guest_login", "count",
    "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate", "srv_rerror_rate",
    "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate", "dst_host_count",
    "dst_host_srv_count", "dst_host_same_srv_rate", "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
    "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate", "label",
    "difficulty",
]  # fmt: skip
NSL_CATEGORICAL = ["protocol_type", "service", "flag"]
NSL_CATEGORY = {
    **dict.fromkeys(
        [
            "back",
            "land",
            "neptune",
            "pod",
            "smurf",
            "teardrop",
            "apache2",
            "mailbomb",
            "processtable",
            "udpstorm",
            "worm",
        ],
        "DoS",
    ),
    **dict.fromkeys(["ipsweep", "nmap", "portsweep", "satan", "mscan", "saint"], "Probe"),
    **dict.fromkeys(
        [
            "ftp_write",
            "guess_passwd",
            "imap",
            "multihop",
            "phf",
            "spy",
            "warezclient",
            "warezmaster",
            "sendmail",
            "named",
            "snmpgetattack",
            "snmpguess",
            "xlock",
            "xsnoop",
            "httptunnel",
        ],
        "R2L",
    ),
    **dict.fromkeys(
        ["buffer_overflow", "loadmodule", "perl", "rootkit", "ps", "sqlattack", "xterm"], "U2R"
    ),
    "normal": "normal",
}
CIC_DROP = ["id", "Flow ID", "Src IP", "Src Port", "Dst IP", "Timestamp", "Attempted Category"]


@dataclass
class Split:
    x_train: pd.DataFrame
    y_train: np.ndarray
    tests: dict[str, tuple[pd.DataFrame, np.ndarray]]


def _read(path: Path, **kw: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **kw)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read: {exc}") from exc


def load_nsl_kdd(d: Path, five_class: bool) -> Split:
    frames = {
        name: _read(d / f"{name}.txt", header=None, names=NSL_COLUMNS)
        for name in ("KDDTrain+_20Percent", "KDDTest+", "KDDTest-21")
    }
    cats = {c: sorted(set(frames["KDDTrain+_20Percent"][c])) for c in NSL_CATEGORICAL}

    def xy(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        x = df.drop(columns=["label", "difficulty"]).copy()
        for c in NSL_CATEGORICAL:  # categories unseen in training become -1 ("other")
            x[c] = x[c].map({v: i for i, v in enumerate(cats[c])}).fillna(-1).astype(int)
        labels = df["label"].astype(str)
        if five_class:
            y = labels.map(NSL_CATEGORY).fillna("unknown").to_numpy()
        else:
            y = np.where(labels == "normal", "normal", "attack")
        return x, y

    x_tr, y_tr = xy(frames["KDDTrain+_20Percent"])
    return Split(
        x_tr, y_tr, {"KDDTest+": xy(frames["KDDTest+"]), "KDDTest-21": xy(frames["KDDTest-21"])}
    )


def load_cicids2017(d: Path, seed: int = 0) -> Split:
    files = sorted(d.glob("*.csv"))
    if not files:
        raise ModelError(f"{d}: no CIC-IDS2017 CSV files")
    df = pd.concat([_read(f) for f in files], ignore_index=True)
    y = df["Label"].astype(str).to_numpy()
    x = df.drop(columns=[c for c in [*CIC_DROP, "Label"] if c in df.columns])
    x = x.apply(pd.to_numeric, errors="coerce").replace([np.inf, -np.inf], np.nan)
    return _stratified(x.loc[:, x.notna().any()], y, seed)  # columns with no value at all go


def load_unsw_nb15(d: Path, seed: int = 0) -> Split:
    files = sorted(d.glob("*.csv"))
    if not files:
        raise ModelError(f"{d}: no UNSW-NB15 CSV file")
    df = _read(files[0])
    y = df["label"].astype(str).to_numpy()
    return _stratified(df.drop(columns=["label"]), y, seed)


def _stratified(x: pd.DataFrame, y: np.ndarray, seed: int) -> Split:
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, stratify=y, random_state=seed)
    return Split(x_tr, y_tr, {"held-out 30%": (x_te, y_te)})


def classifier(
    seed: int = 0, categorical: list[int] | None = None
) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=300,
        learning_rate=0.1,
        class_weight="balanced",
        categorical_features=categorical,
        random_state=seed,
    )


SWEEP = (0.95, 0.98, 0.99, 0.995)
"""Quantiles of the novelty gate reported as a sensitivity analysis (the result is at 0.99)."""


def _metrics(y: np.ndarray, pred: np.ndarray, labels: list[str]) -> dict[str, Any]:
    return {
        "rows": len(y),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "macro_f1": round(float(f1_score(y, pred, average="macro", zero_division=0)), 4),
        "recall_per_class": {
            c: round(float(r), 4)
            for c, r in zip(
                labels,
                recall_score(y, pred, labels=labels, average=None, zero_division=0),
                strict=True,
            )
            if (y == c).any()
        },
        "support": {c: int((y == c).sum()) for c in labels if (y == c).any()},
        "confusion": {
            "labels": labels,
            "matrix": confusion_matrix(y, pred, labels=labels).tolist(),
        },
    }


def evaluate(
    split: Split,
    categorical: list[str] | None = None,
    seed: int = 0,
    novelty_quantile: float | None = None,
) -> dict[str, Any]:
    """Fit on the training part, report every test part. With ``novelty_quantile`` the
    classifier is paired with a :class:`~models.eval.novelty.NormalGate` fitted on the normal
    training rows; the headline metrics are then the pair's, the classifier's alone stay
    under ``supervised``."""
    cat_idx = [split.x_train.columns.get_loc(c) for c in categorical or []]
    model = classifier(seed, cat_idx or None)
    model.fit(split.x_train, split.y_train)
    gate = None
    out: dict[str, Any] = {"train_rows": len(split.y_train), "tests": {}}
    if novelty_quantile is not None:
        gate = NormalGate.fit(
            split.x_train, split.y_train == "normal", categorical, novelty_quantile, seed=seed
        )
        out["novelty_gate"] = {
            "quantile": novelty_quantile,
            "k": gate.knn.n_neighbors,
            "threshold": round(gate.threshold(), 4),
            "reference_rows": int(gate.knn.n_samples_fit_),
        }
    for name, (x, y) in split.tests.items():
        pred = model.predict(x)
        labels = sorted(set(y) | set(split.y_train))
        if gate is None:
            out["tests"][name] = _metrics(y, pred, labels)
            continue
        proba, classes = model.predict_proba(x), [str(c) for c in model.classes_]
        dist = gate.distance(x)
        res = _metrics(y, gated(pred, proba, classes, dist > gate.threshold()), labels)
        res["supervised"] = _metrics(y, pred, labels)
        res["gate_sweep"] = {
            str(q): round(
                float(accuracy_score(y, gated(pred, proba, classes, dist > gate.threshold(q)))), 4
            )
            for q in SWEEP
        }
        normal = y == "normal"
        res["normal_flagged_share"] = round(
            float((dist[normal] > gate.threshold()).mean()) if normal.any() else 0.0, 4
        )
        out["tests"][name] = res
    return out
