"""One valid sample of every event kind, shared by the contract tests."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from contracts import (
    FLOW_FEATURES,
    AlertEvent,
    AnomalyEvent,
    AttackClassification,
    AttackPrediction,
    FLEvent,
    FlowRecord,
    ModelAnnouncement,
    NodeStatus,
)
from contracts.events import EventBase, FeatureContribution


def flow(node_id: str = "pi-1", **kw: Any) -> FlowRecord:
    base: dict[str, Any] = dict(
        node_id=node_id,
        flow_id="f-1",
        src_ip="192.168.1.10",
        dst_ip="10.0.0.5",
        src_port=51515,
        dst_port=443,
        proto=6,
        start_ts=1_700_000_000.0,
        end_ts=1_700_000_001.5,
        end_reason="fin",
        features=[0.0] * len(FLOW_FEATURES),
    )
    base.update(kw)
    return FlowRecord(**base)


def all_samples(node_id: str = "pi-1") -> list[EventBase]:
    payload = b"tflite-bytes"
    return [
        flow(node_id),
        AnomalyEvent(
            node_id=node_id,
            detector="lstm",
            score=0.9,
            threshold=0.5,
            severity="high",
            src_ip="192.168.1.10",
            evidence={"window": 10, "host": "192.168.1.10"},
        ),
        AttackClassification(
            node_id=node_id,
            family="scan",
            confidence=0.93,
            probabilities={"scan": 0.93, "benign": 0.07},
            detectors=["rules", "iforest"],
            rule_ids=["port_scan_horizontal"],
            top_features=[
                FeatureContribution(name="src_distinct_dst_ports", value=120.0, contribution=0.6)
            ],
            anomaly_ids=[uuid.uuid4()],
        ),
        AttackPrediction(
            node_id="hub",
            target_host="10.0.0.7",
            probability=0.71,
            severity="high",
            family="botnet",
            path=["10.0.0.2", "10.0.0.5", "10.0.0.7"],
        ),
        AlertEvent(
            node_id="hub",
            incident_key="botnet:10.0.0.5",
            severity="critical",
            title="Botnet spreading",
            hosts=["10.0.0.5"],
        ),
        FLEvent(
            node_id=node_id,
            role="client",
            round=3,
            phase="fit",
            loss=0.12,
            samples=512,
            epsilon=1.4,
            delta=1e-5,
        ),
        NodeStatus(
            node_id=node_id,
            online=True,
            packets_per_s=1234.5,
            outbox_depth=7,
            model_version="lstm-ae-3",
        ),
        ModelAnnouncement(
            node_id="hub",
            version=3,
            sha256=hashlib.sha256(payload).hexdigest(),
            size_bytes=len(payload),
            payload_b64=base64.b64encode(payload).decode(),
            key_id="hub-2026",
            signature_b64="c2ln",
        ),
    ]
