"""The IOC detector and its updater wired into the agent (memory:// transport)."""

from __future__ import annotations

import uuid

from contracts.signing import generate_keypair
from contracts.topics import MQTT_INTEL_TOPIC
from edge_agent.agent import Agent, load_detectors
from edge_agent.capture.packet import ParseStats
from edge_agent.detectors.ioc import IocDetector
from edge_agent.settings import AgentSettings


class _NoPackets:
    stats = ParseStats()

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(())


def _settings(tmp_path, **kw):
    return AgentSettings(
        node_id="pi-ioc",
        mqtt_url=f"memory://ioc-{uuid.uuid4().hex[:6]}",
        outbox_path=tmp_path / "outbox.db",
        baseline=False,
        **kw,
    )


def test_the_agent_runs_the_ioc_detector_and_reports_refusals(tmp_path):
    # prepare
    _, pub = generate_keypair(tmp_path / "keys")
    settings = _settings(tmp_path, model_public_keys=[pub])
    # execute
    agent = Agent(settings, source=_NoPackets())
    assert agent.ioc_updater is not None
    agent.ioc_updater.handle(MQTT_INTEL_TOPIC, b"not a manifest")
    status = agent.status()
    # assert
    assert isinstance(agent.ioc, IocDetector) and agent.ioc in agent.pipeline.detectors
    assert agent.model_version is None and agent.updater is None  # no model: no model updater
    assert status.drops["ioc_refused_invalid"] == 1
    assert settings.ioc_dir() == tmp_path / "outbox.intel" and settings.ioc_dir().is_dir()


def test_ioc_off_or_no_trusted_key_means_no_updater(tmp_path):
    assert not any(
        isinstance(d, IocDetector) for d in load_detectors(_settings(tmp_path, ioc=False))
    )
    agent = Agent(_settings(tmp_path), source=_NoPackets())
    assert agent.ioc is not None and agent.ioc_updater is None
