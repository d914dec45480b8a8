"""The agent's side of the node fine-tune (issue 18): after installing a signed global model
that ships its float weights, the agent runs the fine-tune job (here a stand-in without torch
or TensorFlow: ``fake_finetune_job``), verifies its node-local model and swaps it in; global
N+1 replaces it; a failed, missing or untrustworthy job leaves the global model running and
is counted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from contracts import encode
from contracts.local_model import (
    INLINE_WEIGHTS_KEY,
    WEIGHTS_FILE,
    LocalModelError,
    node_key,
    verify_local_model,
)
from contracts.model_dir import read_metadata, write_model_dir
from contracts.signing import generate_keypair, load_public_keys
from edge_agent.agent import Agent
from edge_agent.detectors.lstm import LstmDetector
from edge_agent.finetune import Base, FineTuneConfig, FineTuner
from edge_agent.model_update import ModelUpdater, version_number
from edge_agent.settings import AgentSettings
from hub.registry import ModelRegistry, RegistryConfig

SHIPPED = Path(__file__).resolve().parents[3] / "models" / "artifacts" / "lstm-ae"
ROOT = Path(__file__).resolve().parents[3]
NODE = "pi-ft"


def fake_job(mode: str) -> list[str]:
    return [sys.executable, "-m", "tests.unit.edge_agent.fake_finetune_job", "--mode", mode]


def with_weights(out: Path, weights: bytes = b"float weights stand-in", **extra: object) -> Path:
    """A hub export of the shipped model that ships float weights (as export_global writes)."""
    meta = read_metadata(SHIPPED)
    keep = {k: v for k, v in meta.items() if k not in ("calibration", "sha256", "size_bytes")}
    keep |= extra
    files = {"model.tflite": (SHIPPED / "model.tflite").read_bytes()}
    write_model_dir(
        out,
        files | {WEIGHTS_FILE: weights},
        keep,
        primary="model.tflite",
        training_data=None,
    )
    return out


@pytest.fixture
def hub(tmp_path):
    priv, pub = generate_keypair(tmp_path / "keys")
    registry = ModelRegistry(RegistryConfig(state_dir=tmp_path / "registry", signing_key=priv))
    return registry, load_public_keys([pub]), with_weights(tmp_path / "export")


def agent(tmp_path: Path, trusted, mode: str = "ok", timeout_s: float = 60.0, seen=None):
    detector = LstmDetector.load(SHIPPED, NODE)
    tuner = FineTuner(
        FineTuneConfig(
            store=tmp_path / "flows.db",
            root=tmp_path / "finetune",
            node_id=NODE,
            timeout_s=timeout_s,
            command=fake_job(mode),
        )
    )
    updater = ModelUpdater(
        tmp_path / "models",
        trusted,
        detector,
        on_installed=(seen.append if seen is not None else None),
        fine_tuner=tuner,
        node_id=NODE,
    )
    return updater, tuner, detector


def test_the_float_weights_travel_signed_and_are_installed_beside_the_model(hub, tmp_path):
    registry, trusted, export = hub
    ann = registry.build(export, floor=1)
    assert INLINE_WEIGHTS_KEY in ann.metadata
    updater, tuner, _ = agent(tmp_path, trusted)
    assert updater.handle(encode(ann)) == "lstm-ae-2"
    tuner.join(60)
    installed = tmp_path / "models" / "lstm-ae-2"
    assert (installed / WEIGHTS_FILE).read_bytes() == b"float weights stand-in"
    assert INLINE_WEIGHTS_KEY not in read_metadata(installed)
    forged = ann.model_copy(
        update={"metadata": ann.metadata | {INLINE_WEIGHTS_KEY: "Zm9yZ2Vk"}, "version": 3}
    )
    assert updater.handle(encode(forged)) is None and updater.refused["signature"] == 1


def test_weights_that_would_overflow_the_announcement_are_left_out(hub, tmp_path):
    registry, trusted, _ = hub
    # a big fleet's thresholds + the model + 60 KB of weights: over 256 KiB
    fleet = {"thresholds_by_node": {f"pi-{i:05d}": 0.012345678 for i in range(3000)}}
    big = with_weights(tmp_path / "big", os.urandom(60_000), **fleet)
    ann = registry.build(big, floor=1)
    assert INLINE_WEIGHTS_KEY not in ann.metadata and len(encode(ann)) < 256 * 1024
    updater, tuner, detector = agent(tmp_path, trusted)
    assert updater.handle(encode(ann)) == "lstm-ae-2"
    tuner.join(10)
    assert tuner.runs == 0 and detector.version == "lstm-ae-2"


def test_the_agent_swaps_in_its_own_fine_tune_and_global_n_plus_1_replaces_it(hub, tmp_path):
    registry, trusted, export = hub
    seen: list[str] = []
    updater, tuner, detector = agent(tmp_path, trusted, seen=seen)
    v2 = registry.build(export, floor=1)
    assert updater.handle(encode(v2)) == "lstm-ae-2"
    tuner.join(60)
    assert detector.version == "lstm-ae-2+node" and detector.model.threshold_scope == "node"
    assert seen == ["lstm-ae-2", "lstm-ae-2+node"] and version_number(detector.version) == 2
    assert updater.handle(encode(v2)) is None  # the retained copy: the fine-tune keeps running
    assert detector.version == "lstm-ae-2+node"
    v3 = registry.build(export)
    assert updater.handle(encode(v3)) == "lstm-ae-3" == detector.version
    tuner.join(60)
    assert detector.version == "lstm-ae-3+node" and tuner.runs == 2
    assert not (tmp_path / "finetune" / "models" / "lstm-ae-2").exists()  # v2's is useless now
    assert updater.drops() == {}


def test_a_restarted_agent_reuses_the_fine_tune_it_made(hub, tmp_path):
    registry, trusted, export = hub
    v2 = registry.build(export, floor=1)
    first, tuner, _ = agent(tmp_path, trusted)
    first.handle(encode(v2))
    tuner.join(60)
    again, tuner2, detector = agent(tmp_path, trusted, mode="fail")  # would fail if it ran
    assert again.handle(encode(v2)) == "lstm-ae-2"  # the retained copy after the restart
    tuner2.join(60)
    assert detector.version == "lstm-ae-2+node" and tuner2.runs == 0


@pytest.mark.parametrize(
    ("mode", "counter"),
    [
        ("fail", "finetune_failed"),
        ("unavailable", "finetune_unavailable"),
        ("wrong-base", "finetune_refused"),
        ("wrong-key", "finetune_refused"),
        ("tamper", "finetune_refused"),
        ("other-node", "finetune_refused"),
    ],
)
def test_a_failed_or_untrusted_fine_tune_leaves_the_global_model_running(
    hub, tmp_path, mode, counter, caplog
):
    registry, trusted, export = hub
    updater, tuner, detector = agent(tmp_path, trusted, mode=mode)
    assert updater.handle(encode(registry.build(export, floor=1))) == "lstm-ae-2"
    tuner.join(60)
    assert detector.version == "lstm-ae-2"
    assert updater.drops() == {counter: 1}
    assert any("the global model keeps running" in r.getMessage() for r in caplog.records)
    if mode == "unavailable":  # it found out by running the job: no more launches
        updater.handle(encode(registry.build(export)))
        tuner.join(60)
        assert tuner.runs == 1 and updater.drops() == {counter: 1}


def test_a_job_that_overruns_its_timeout_is_killed(hub, tmp_path):
    registry, trusted, export = hub
    updater, tuner, detector = agent(tmp_path, trusted, mode="sleep", timeout_s=1.0)
    updater.handle(encode(registry.build(export, floor=1)))
    tuner.join(30)
    assert updater.drops() == {"finetune_failed": 1} and detector.version == "lstm-ae-2"


def test_a_global_model_without_float_weights_is_not_fine_tuned(hub, tmp_path):
    registry, trusted, _ = hub
    updater, tuner, detector = agent(tmp_path, trusted)
    assert updater.handle(encode(registry.build(SHIPPED, floor=1))) == "lstm-ae-2"
    tuner.join(10)
    assert tuner.runs == 0 and detector.version == "lstm-ae-2"


def test_a_local_model_verifies_only_for_its_key_node_and_base(hub, tmp_path):
    registry, trusted, export = hub
    updater, tuner, _ = agent(tmp_path, trusted)
    ann = registry.build(export, floor=1)
    updater.handle(encode(ann))
    tuner.join(60)
    local = tmp_path / "finetune" / "models" / "lstm-ae-2"
    verify_local_model(local, tuner.public, NODE, 2, ann.sha256)
    _, other = node_key(tmp_path / "another-key")
    for args in (
        (other, NODE, 2, ann.sha256),
        (tuner.public, "pi-other", 2, ann.sha256),
        (tuner.public, NODE, 3, ann.sha256),
        (tuner.public, NODE, 2, "0" * 64),
    ):
        with pytest.raises(LocalModelError):
            verify_local_model(local, *args)
    meta = json.loads((local / "metadata.json").read_text())
    (local / "metadata.json").write_text(json.dumps(meta | {"threshold": 9.0}))
    with pytest.raises(LocalModelError, match="not signed"):
        verify_local_model(local, tuner.public, NODE, 2, ann.sha256)
    assert updater.install_local(Base(tmp_path, "lstm-ae", 2, ann.sha256), local) is False


def test_the_node_key_is_private_to_the_node(tmp_path):
    priv, _ = node_key(tmp_path / "key")
    assert priv.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o700
    assert node_key(tmp_path / "key")[0] == priv  # made once, then reused


def test_the_agent_process_never_imports_torch_or_tensorflow(hub, tmp_path):
    """The whole agent-side path (install, launch the job, verify, swap) in a fresh process
    that imports only what the agent imports."""
    registry, _, export = hub
    (tmp_path / "ann.json").write_bytes(encode(registry.build(export, floor=1)))
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from contracts.signing import load_public_keys
        import edge_agent.agent  # the agent process's own imports
        from edge_agent.detectors.lstm import LstmDetector
        from edge_agent.finetune import FineTuneConfig, FineTuner
        from edge_agent.model_update import ModelUpdater
        tmp = Path({str(tmp_path)!r})
        det = LstmDetector.load(Path({str(SHIPPED)!r}), {NODE!r})
        cfg = FineTuneConfig(tmp / "flows.db", tmp / "finetune", {NODE!r}, command={fake_job("ok")!r})
        tuner = FineTuner(cfg)
        keys = load_public_keys([tmp / "keys" / "model-signing.pub"])
        updater = ModelUpdater(tmp / "models", keys, det, fine_tuner=tuner, node_id={NODE!r})
        updater.handle((tmp / "ann.json").read_bytes())
        tuner.join(60)
        assert det.version == "lstm-ae-2+node", det.version
        heavy = [m for m in ("torch", "tensorflow", "opacus", "flwr", "keras", "sklearn")
                 if m in sys.modules]
        assert not heavy, heavy
        print("ok")
        """
    )
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


def _settings(tmp_path: Path, **kw) -> AgentSettings:
    if not (tmp_path / "wiring-keys").exists():
        generate_keypair(tmp_path / "wiring-keys")
    return AgentSettings(
        node_id=NODE,
        source="sim:benign?seed=1&hosts=2&duration=5",
        mqtt_url="memory://finetune-wiring",
        outbox_path=tmp_path / "outbox.db",
        model_dir=SHIPPED,
        model_public_keys=[tmp_path / "wiring-keys" / "model-signing.pub"],
        models_root=tmp_path / "models",
        **kw,
    )


def test_the_agent_fine_tunes_only_with_a_flow_store_and_epochs(tmp_path):
    on = Agent(_settings(tmp_path, flow_store_path=tmp_path / "flows.db"))
    assert on.updater is not None and on.updater.fine_tuner is not None
    assert on.updater.fine_tuner.cfg.root == tmp_path / "outbox.finetune"
    assert (tmp_path / "outbox.finetune" / "key" / "model-signing.key").is_file()
    off = Agent(_settings(tmp_path, flow_store_path=tmp_path / "flows.db", fine_tune_epochs=0))
    no_store = Agent(_settings(tmp_path))
    for a in (off, no_store):
        assert a.updater is not None and a.updater.fine_tuner is None
    for a in (on, off, no_store):
        a.outbox.close()
        if a.flow_store is not None:
            a.flow_store.close()


def test_a_failed_fine_tune_shows_in_the_heartbeat(tmp_path):
    a = Agent(_settings(tmp_path, flow_store_path=tmp_path / "flows.db"))
    assert a.updater is not None and a.updater.fine_tuner is not None
    a.updater.fine_tuner.counts["failed"] += 1
    status = a.status()
    assert status.drops["finetune_failed"] == 1 and status.model_version == "lstm-ae-1"
    a.outbox.close()
