"""Model rollback (issue 15 item 6): the highest installed version survives a restart, and a
model signed for another fleet is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts import encode
from contracts.signing import generate_keypair, load_public_keys
from edge_agent.detectors.lstm import LstmDetector
from edge_agent.model_update import STATE_FILE, ModelUpdater
from hub.registry import ModelRegistry, RegistryConfig, RegistryError

SHIPPED = Path(__file__).resolve().parents[3] / "models" / "artifacts" / "lstm-ae"


@pytest.fixture
def keys(tmp_path):
    priv, pub = generate_keypair(tmp_path / "keys")
    return priv, load_public_keys([pub])


def _registry(tmp_path: Path, priv: Path, fleet: str | None, name: str = "registry"):
    return ModelRegistry(
        RegistryConfig(state_dir=tmp_path / name, signing_key=priv, fleet_id=fleet)
    )


def _agent(tmp_path: Path, trusted, fleet: str | None = None) -> ModelUpdater:
    """A (re)started agent: the provisioned model running, the same models folder."""
    return ModelUpdater(tmp_path / "models", trusted, LstmDetector.load(SHIPPED), fleet_id=fleet)


def test_an_older_signed_version_is_refused_after_a_restart(tmp_path, keys):
    # prepare: v2 and v3 signed; the agent installs v3, then restarts on its provisioned model
    priv, trusted = keys
    reg = _registry(tmp_path, priv, None)
    v2, v3 = reg.build(SHIPPED, floor=1), reg.build(SHIPPED)
    assert _agent(tmp_path, trusted).handle(encode(v3)) == "lstm-ae-3"
    restarted = _agent(tmp_path, trusted)
    assert restarted.current == 1  # back on the provisioned model
    # execute: a replayed, correctly signed v2; then the retained v3 again; then v4
    replay = restarted.handle(encode(v2))
    again = restarted.handle(encode(v3))
    newer = restarted.handle(encode(reg.build(SHIPPED)))
    # assert
    assert replay is None and restarted.refused == {"older": 1}
    assert again == "lstm-ae-3"  # the newest it had: installed again
    assert newer == "lstm-ae-4"
    assert json.loads((tmp_path / "models" / STATE_FILE).read_text()) == {"lstm-ae": 4}


def test_the_floor_holds_when_the_record_is_lost_or_corrupt(tmp_path, keys):
    priv, trusted = keys
    reg = _registry(tmp_path, priv, None)
    v2, v3 = reg.build(SHIPPED, floor=1), reg.build(SHIPPED)
    assert _agent(tmp_path, trusted).handle(encode(v3)) == "lstm-ae-3"
    state = tmp_path / "models" / STATE_FILE
    for damage in ("{not json", '["a"]', '{"lstm-ae": "x"}', None):
        if damage is None:
            state.unlink()
        else:
            state.write_text(damage)
        restarted = _agent(tmp_path, trusted)  # no crash on a damaged record
        assert restarted.handle(encode(v2)) is None, damage  # the installed v3 folder counts
        assert restarted.refused == {"older": 1}


def test_the_record_is_replaced_atomically(tmp_path, keys):
    priv, trusted = keys
    reg = _registry(tmp_path, priv, None)
    agent = _agent(tmp_path, trusted)
    agent.handle(encode(reg.build(SHIPPED, floor=1)))
    agent.handle(encode(reg.build(SHIPPED)))
    names = sorted(p.name for p in (tmp_path / "models").iterdir() if p.is_file())
    assert names == [STATE_FILE]  # no temporary file left behind
    assert json.loads((tmp_path / "models" / STATE_FILE).read_text()) == {"lstm-ae": 3}


def test_a_model_signed_for_another_fleet_is_refused(tmp_path, keys):
    # prepare: one signing key, two fleets
    priv, trusted = keys
    ours = _registry(tmp_path, priv, "fleet-a", "ra").build(SHIPPED, floor=1)
    theirs = _registry(tmp_path, priv, "fleet-b", "rb").build(SHIPPED, floor=4)
    unbound = _registry(tmp_path, priv, None, "rn").build(SHIPPED, floor=6)
    agent = _agent(tmp_path, trusted, fleet="fleet-a")
    # execute
    results = [agent.handle(encode(a)) for a in (theirs, unbound, ours)]
    # assert: only the model signed for fleet-a runs
    assert results == [None, None, "lstm-ae-2"]
    assert agent.refused == {"fleet": 2}
    assert agent.drops() == {"model_refused_fleet": 2}


def test_the_fleet_cannot_be_edited_without_breaking_the_signature(tmp_path, keys):
    priv, trusted = keys
    theirs = _registry(tmp_path, priv, "fleet-b").build(SHIPPED, floor=1)
    forged = theirs.model_copy(update={"metadata": theirs.metadata | {"fleet_id": "fleet-a"}})
    agent = _agent(tmp_path, trusted, fleet="fleet-a")
    assert agent.handle(encode(forged)) is None
    assert agent.refused == {"signature": 1}


def test_a_bad_fleet_id_is_refused_by_the_registry(tmp_path, keys):
    priv, _ = keys
    for bad in ("", "Fleet A", "a/b", "x" * 64):
        with pytest.raises(RegistryError, match="fleet id"):
            _registry(tmp_path, priv, bad)
