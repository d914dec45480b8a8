"""MITRE ATT&CK (Enterprise) techniques: what each attack family and built-in detector means.

The one place technique ids meet fednids' vocabulary. Each attack family
(:data:`contracts.events.ATTACK_FAMILIES`) maps to the techniques any incident of that family
shows; each rule in ``edge_agent/rules/default_rules.toml`` names its own, more precise ones
(``techniques = [...]``), which its :class:`~contracts.events.AnomalyEvent` carries to the hub.
Verdicts of detectors written in code (the ARP monitor) that carry none get theirs from
:data:`BUILTIN_RULE_TECHNIQUES`. Names are ATT&CK's own (v15 wording), for display and export.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TECHNIQUE_PATTERN = r"^T\d{4}(\.\d{3})?$"
"""A technique (``T1046``) or a sub-technique (``T1498.002``) id."""
MAX_TECHNIQUES = 8
"""At most this many technique ids on one event (the contracts' bound)."""

TECHNIQUES: dict[str, tuple[str, str]] = {
    "T1018": ("Remote System Discovery", "Discovery"),
    "T1046": ("Network Service Discovery", "Discovery"),
    "T1071": ("Application Layer Protocol", "Command and Control"),
    "T1071.001": ("Application Layer Protocol: Web Protocols", "Command and Control"),
    "T1110": ("Brute Force", "Credential Access"),
    "T1110.001": ("Brute Force: Password Guessing", "Credential Access"),
    "T1190": ("Exploit Public-Facing Application", "Initial Access"),
    "T1498": ("Network Denial of Service", "Impact"),
    "T1498.001": ("Network Denial of Service: Direct Network Flood", "Impact"),
    "T1498.002": ("Network Denial of Service: Reflection Amplification", "Impact"),
    "T1499": ("Endpoint Denial of Service", "Impact"),
    "T1499.001": ("Endpoint Denial of Service: OS Exhaustion Flood", "Impact"),
    "T1499.002": ("Endpoint Denial of Service: Service Exhaustion Flood", "Impact"),
    "T1499.003": ("Endpoint Denial of Service: Application Exhaustion Flood", "Impact"),
    "T1557": ("Adversary-in-the-Middle", "Credential Access"),
    "T1557.002": ("Adversary-in-the-Middle: ARP Cache Poisoning", "Credential Access"),
    "T1583": ("Acquire Infrastructure", "Resource Development"),
    "T1583.005": ("Acquire Infrastructure: Botnet", "Resource Development"),
    "T1595": ("Active Scanning", "Reconnaissance"),
    "T1595.001": ("Active Scanning: Scanning IP Blocks", "Reconnaissance"),
    "T1595.002": ("Active Scanning: Vulnerability Scanning", "Reconnaissance"),
}
"""Id -> (name, tactic) for every technique fednids names."""

FAMILY_TECHNIQUES: dict[str, tuple[str, ...]] = {
    "benign": (),
    "dos": ("T1498", "T1499"),
    "scan": ("T1046",),
    "bruteforce": ("T1110",),
    "botnet": ("T1071",),
    "web": ("T1190",),
    "other": (),
}
"""What an incident of each family is, whatever rule or model found it."""

BUILTIN_RULE_TECHNIQUES: dict[str, tuple[str, ...]] = {
    "arp_scan": ("T1018",),
    "arp_spoof": ("T1557.002",),
    "arp_flood": ("T1498",),
}
"""Rule ids raised by detectors written in code (``edge_agent/detectors/arp.py``), not by
the rule file; used when their events carry no techniques of their own."""

_ID = re.compile(TECHNIQUE_PATTERN)


class UnknownTechniqueError(ValueError):
    """A technique id that is well formed but not in :data:`TECHNIQUES`."""


def check_technique(tid: str) -> str:
    """``tid`` if it is a technique fednids knows; else :class:`UnknownTechniqueError`."""
    if not _ID.match(tid):
        raise UnknownTechniqueError(f"{tid!r} is not an ATT&CK technique id (like T1046)")
    if tid not in TECHNIQUES:
        raise UnknownTechniqueError(f"{tid!r} is not in contracts.attack.TECHNIQUES")
    return tid


def technique_name(tid: str) -> str:
    """The display name (``Network Service Discovery``), or the id itself when unknown."""
    return TECHNIQUES.get(tid, (tid, ""))[0]


def technique_tactic(tid: str) -> str:
    return TECHNIQUES.get(tid, ("", ""))[1]


def merge(*groups: Iterable[str]) -> list[str]:
    """The ids of all groups, first seen first, without repeats, at most :data:`MAX_TECHNIQUES`."""
    out: list[str] = []
    for group in groups:
        for tid in group:
            if tid not in out and _ID.match(tid) and len(out) < MAX_TECHNIQUES:
                out.append(tid)
    return out


def incident_techniques(
    family: str | None, rule_ids: Iterable[str] = (), carried: Iterable[str] = ()
) -> list[str]:
    """An incident's techniques: those its detections carried (the rules' own, most precise
    first), those of built-in detectors among its rules, then its family's."""
    builtin = [t for r in rule_ids for t in BUILTIN_RULE_TECHNIQUES.get(r, ())]
    return merge(carried, builtin, FAMILY_TECHNIQUES.get(family or "other", ()))
