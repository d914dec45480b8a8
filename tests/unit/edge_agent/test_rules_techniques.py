"""Rules carry ATT&CK techniques: every shipped rule names known ids, the loader rejects bad
ones with the file and line, a rule without the key gets its family's, and a hit's event
carries its rule's ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.attack import FAMILY_TECHNIQUES, TECHNIQUES
from contracts.features import FLOW_FEATURES
from edge_agent.rules.engine import RuleEngine
from edge_agent.rules.loader import DEFAULT_RULES, RuleFileError, load_rules
from tests.unit.contracts.samples import flow

RULE = """
[[rule]]
id = "probe"
family = "scan"
{techniques}
severity = "low"
score = "fwd_packets"
threshold = 1
match = {{ land = {{ eq = 1 }} }}
"""


def test_every_shipped_rule_names_its_techniques_explicitly() -> None:
    # prepare
    text = DEFAULT_RULES.read_text()
    flow_rules, beacon_rules = load_rules()
    rules = [*flow_rules, *beacon_rules]
    # assert: one techniques line per rule, every id known
    assert text.count("\ntechniques = ") == len(rules)
    for r in rules:
        assert all(t in TECHNIQUES for t in r.techniques), r.id
    named = {r.id: r.techniques for r in rules}
    assert named["syn_flood"] == ("T1498.001", "T1499.001")
    assert named["bruteforce_login"][0] == "T1110"
    assert named["beaconing"] == ("T1071",)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('techniques = ["T10"]', "not an ATT&CK technique id"),
        ('techniques = ["T9999"]', r"not in contracts\.attack"),
        ('techniques = "T1046"', "must be a list"),
        ('techniques = ["T1046", "T1046"]', "without repeats"),
    ],
)
def test_bad_techniques_are_rejected_with_file_and_line(
    tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(RULE.format(techniques=line))
    with pytest.raises(RuleFileError, match=message) as err:
        load_rules(path)
    assert f"{path}:3: rule 'probe'" in str(err.value)


def test_a_rule_without_techniques_gets_its_familys(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(RULE.format(techniques=""))
    [rule], _ = load_rules(path)
    assert rule.techniques == FAMILY_TECHNIQUES["scan"]


def test_a_hit_carries_its_rules_techniques() -> None:
    # prepare: a LAND packet (source == destination)
    engine = RuleEngine()
    land = flow(
        src_ip="10.0.0.5", dst_ip="10.0.0.5", features=[0.0, 1.0] + [0.0] * (len(FLOW_FEATURES) - 2)
    )
    # execute
    events = [e for e in engine.on_flow(land) if e.rule_id == "land_attack"]
    # assert
    assert [e.techniques for e in events] == [["T1499.001"]]
