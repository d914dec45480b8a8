"""The edge TFLite detector: scores windows, hot-swaps, refuses bad files, loads no torch/TF."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from edge_agent.detectors.lstm import LstmDetector, ModelLoadError
from tests.unit.models.conftest import sim_flows, tiny_model_dir  # noqa: F401 - the fixture


def test_scores_flows_and_flags_an_attack_more_than_benign(tiny_model_dir):  # noqa: F811
    out, _ = tiny_model_dir
    det = LstmDetector.load(out)
    benign = sim_flows("sim:benign?seed=77&hosts=8&duration=200")
    attack = [
        f
        for f in sim_flows("sim:port_scan_vertical?seed=78&hosts=8&duration=200")
        if f.label != "benign"
    ]
    hits_b = sum(bool(det.on_flow(f)) for f in benign) / len(benign)
    det2 = LstmDetector.load(out)
    hits_a = sum(bool(det2.on_flow(f)) for f in attack) / len(attack)
    assert det.scored == len(benign)
    assert hits_a > hits_b


def test_hot_swap_and_refusal_of_a_corrupt_model(tiny_model_dir, tmp_path):  # noqa: F811
    out, _ = tiny_model_dir
    det = LstmDetector.load(out)
    v2 = tmp_path / "v2"
    shutil.copytree(out, v2)
    meta = json.loads((v2 / "metadata.json").read_text())
    meta["version"] = 2
    (v2 / "metadata.json").write_text(json.dumps(meta))
    assert det.swap(v2) == "lstm-ae-2"
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    (bad / "model.tflite").write_bytes(b"\x00" * 100)
    with pytest.raises(ModelLoadError, match="sha256"):
        det.swap(bad)
    m2 = json.loads((bad / "metadata.json").read_text())
    import hashlib

    m2["sha256"] = hashlib.sha256(b"\x00" * 100).hexdigest()
    (bad / "metadata.json").write_text(json.dumps(m2))
    with pytest.raises(ModelLoadError, match="not a valid TFLite"):
        det.swap(bad)
    m2 = json.loads((v2 / "metadata.json").read_text())
    m2["features"] = m2["features"][:-1]
    (bad / "metadata.json").write_text(json.dumps(m2))
    shutil.copy(v2 / "model.tflite", bad / "model.tflite")
    with pytest.raises(ModelLoadError, match="feature list"):
        det.swap(bad)
    assert det.version == "lstm-ae-2"  # the running model stayed


def test_the_detector_process_loads_neither_torch_nor_tensorflow(tiny_model_dir):  # noqa: F811
    out, _ = tiny_model_dir
    code = (
        "import sys\n"
        "from edge_agent.detectors.lstm import LstmDetector\n"
        "from tests.unit.contracts.samples import flow\n"
        f"d = LstmDetector.load({str(out)!r})\n"
        "d.on_flow(flow())\n"
        "print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip().splitlines()[-1] == "[]"


def test_a_node_uses_its_own_threshold_when_the_model_carries_one(tiny_model_dir, tmp_path):  # noqa: F811
    # prepare: the metadata carries per-node thresholds (the FL server writes them)
    out, _ = tiny_model_dir
    own = tmp_path / "own"
    shutil.copytree(out, own)
    meta = json.loads((own / "metadata.json").read_text())
    fleet = float(meta["threshold"])
    meta["thresholds_by_node"] = {"pi-small": fleet * 4, "pi-big": fleet / 2}
    (own / "metadata.json").write_text(json.dumps(meta))
    # execute
    small = LstmDetector.load(own, "pi-small")
    other = LstmDetector.load(own, "pi-unlisted")
    swapped = LstmDetector.load(out, "pi-big")
    swapped.swap(own)
    # assert: listed nodes take theirs (also after a hot swap), others the fleet's
    assert (small.model.threshold, small.model.threshold_scope) == (fleet * 4, "node")
    assert (other.model.threshold, other.model.threshold_scope) == (fleet, "fleet")
    assert (swapped.model.threshold, swapped.model.threshold_scope) == (fleet / 2, "node")


def test_a_non_positive_threshold_is_refused(tiny_model_dir, tmp_path):  # noqa: F811
    out, _ = tiny_model_dir
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    meta = json.loads((bad / "metadata.json").read_text())
    meta["thresholds_by_node"] = {"pi-1": -1.0}
    (bad / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="not a positive number"):
        LstmDetector.load(bad, "pi-1")
    assert LstmDetector.load(bad, "pi-2").model.threshold_scope == "fleet"
