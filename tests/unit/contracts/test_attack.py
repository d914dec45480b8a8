"""ATT&CK: every family and technique fednids names is a well-formed, named id; incidents
merge a rule's own techniques, built-in detectors' and their family's, bounded."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from contracts import attack
from contracts.events import ATTACK_FAMILIES, AlertEvent, AnomalyEvent


def test_every_family_maps_to_named_techniques() -> None:
    # prepare / execute
    missing = [f for f in ATTACK_FAMILIES if f not in attack.FAMILY_TECHNIQUES]
    unnamed = [
        t for ts in attack.FAMILY_TECHNIQUES.values() for t in ts if t not in attack.TECHNIQUES
    ]
    # assert
    assert missing == [] and unnamed == []
    assert attack.FAMILY_TECHNIQUES["scan"] == ("T1046",)
    assert set(attack.FAMILY_TECHNIQUES["dos"]) == {"T1498", "T1499"}


def test_ids_are_well_formed_and_sub_techniques_name_their_parent() -> None:
    for tid, (name, tactic) in attack.TECHNIQUES.items():
        assert re.match(attack.TECHNIQUE_PATTERN, tid), tid
        assert name and tactic
        if "." in tid:  # "Parent: Sub" as ATT&CK displays a sub-technique
            parent = tid.split(".")[0]
            assert name.startswith(attack.TECHNIQUES[parent][0] + ": "), tid


def test_check_technique_rejects_malformed_and_unknown_ids() -> None:
    assert attack.check_technique("T1557.002") == "T1557.002"
    with pytest.raises(attack.UnknownTechniqueError, match="not an ATT&CK technique id"):
        attack.check_technique("T15")
    with pytest.raises(attack.UnknownTechniqueError, match=r"not in contracts\.attack"):
        attack.check_technique("T9999")


def test_incident_techniques_rule_first_then_builtin_then_family_bounded() -> None:
    # execute
    scan = attack.incident_techniques("scan", ["port_scan_horizontal"], ["T1595.001", "T1046"])
    arp = attack.incident_techniques("other", ["arp_spoof"])
    many = attack.incident_techniques("dos", [], [f"T1{i:03d}" for i in range(20)])
    # assert
    assert scan == ["T1595.001", "T1046"]
    assert arp == ["T1557.002"]
    assert len(many) == attack.MAX_TECHNIQUES
    assert attack.technique_name("T1046") == "Network Service Discovery"
    assert attack.technique_name("T0000") == "T0000"


def test_events_carry_bounded_pattern_checked_techniques() -> None:
    ok = AnomalyEvent(node_id="pi-1", detector="rules", score=1, threshold=1, techniques=["T1110"])
    assert ok.techniques == ["T1110"]
    for bad in (["T1110; DROP"], ["t1110"], ["T1046"] * 9):
        with pytest.raises(ValidationError):
            AlertEvent(node_id="hub", incident_key="k", severity="low", title="t", techniques=bad)
