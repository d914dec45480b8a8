"""Community ID v1 on flows and on the verdicts about them.

The vectors are literals copied from the specification's baseline,
github.com/corelight/community-id-spec, baseline/baseline_deflt.json (seed 0) and
baseline/baseline_seed1.json (seed 1), at commit b1fe530: the tuples of its pcaps/ with the
values every implementation must give. For ICMP the "ports" are the message type and code.
"""

from __future__ import annotations

import socket

import pytest

from contracts.events import AnomalyEvent, FlowRecord
from edge_agent.capture import open_source, write_pcap
from edge_agent.capture.frames import addr, icmp_frame, tcp_frame
from edge_agent.capture.packet import ICMP, ICMP6, SYN, Packet
from edge_agent.flows import FlowConfig
from edge_agent.flows.community import CommunityIds
from edge_agent.pipeline import Pipeline

SEED0 = [  # (proto, saddr, daddr, sport, dport, community id): baseline_deflt.json
    (58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="),
    (58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="),
    (58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ="),
    (58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="),
    (58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="),
    (58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0="),
    (1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="),
    (1, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="),
    (1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM="),
    (6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="),
    (6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="),
    (6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
    (6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
    (17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),
    (17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),
]  # fmt: skip
SEED1 = [  # baseline_seed1.json
    (58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="),
    (1, "192.168.0.89", "192.168.0.1", 8, 0, "1:03g6IloqVBdcZlPyX8r0hgoE7kA="),
    (1, "10.0.0.1", "10.0.0.2", 11, 0, "1:XjUibYHaafLQ3pxQeiMI8g25q20="),
    (6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:eJYTW6AOzFLlSUoESovMjnu7rMw="),
    (6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:3V71V58M3Ksw/yuFALMcW0LAHvc="),
    (17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="),
]  # fmt: skip


def _first_packet(proto: int, saddr: str, daddr: str, sport: int, dport: int) -> Packet:
    fam = socket.AF_INET6 if ":" in saddr else socket.AF_INET
    s, d = socket.inet_pton(fam, saddr), socket.inet_pton(fam, daddr)
    if proto in (ICMP, ICMP6):  # the flow table's ICMP packets: ports 0, type/code in the frame
        return Packet(
            0.0, s, d, 0, 0, proto, 0, 0, 0, data=bytes((sport, dport)) + bytes(6), poff=8
        )
    return Packet(0.0, s, d, sport, dport, proto, 0, 0, 0)


@pytest.mark.parametrize(("seed", "vector"), [(0, v) for v in SEED0] + [(1, v) for v in SEED1])
def test_the_specification_vectors(seed, vector):
    # prepare
    *tpl, want = vector
    ids = CommunityIds(seed)
    # execute
    got = ids.of(_first_packet(*tpl))
    # assert
    assert got == want


def test_a_seed_must_be_16_bits():
    with pytest.raises(ValueError, match="16-bit"):
        CommunityIds(70_000)


class _Flagger:
    """A detector that flags every flow, and once a host-level verdict with no flow."""

    def on_flow(self, rec: FlowRecord) -> list[AnomalyEvent]:
        return [
            AnomalyEvent(
                node_id=rec.node_id, detector="rules", score=1, threshold=0.5, flow_id=rec.flow_id
            ),
            AnomalyEvent(node_id=rec.node_id, detector="rules", score=1, threshold=0.5),
        ]

    def on_tick(self, now: float) -> list[AnomalyEvent]:
        return []


def _events(tmp_path, config: FlowConfig | None = None) -> list:
    pcap = tmp_path / "c.pcap"
    a, b = addr("128.232.110.120"), addr("66.35.250.204")
    write_pcap(
        pcap,
        [
            tcp_frame(1.0, a, b, 34855, 80, SYN),
            icmp_frame(2.0, addr("192.168.0.89"), addr("192.168.0.1"), 8),
        ],
    )
    pipe = Pipeline("pi-1", [_Flagger()], config)  # type: ignore[list-item]
    return [e for p in open_source(f"pcap:{pcap}") for e in pipe.feed(p)] + pipe.close()


def test_flow_records_and_their_verdicts_carry_the_community_id(tmp_path):
    # execute
    events = _events(tmp_path)
    # assert
    flows = {e.proto: e for e in events if isinstance(e, FlowRecord)}
    assert flows[6].community_id == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    assert flows[1].community_id == "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
    verdicts = [e for e in events if isinstance(e, AnomalyEvent)]
    about_flows = [e for e in verdicts if e.flow_id is not None]
    assert {e.community_id for e in about_flows} == {flows[6].community_id, flows[1].community_id}
    assert all(e.community_id is None for e in verdicts if e.flow_id is None)


def test_the_seed_is_configurable_and_none_turns_it_off(tmp_path):
    seeded = _events(tmp_path, FlowConfig(community_id_seed=1))
    off = _events(tmp_path, FlowConfig(community_id_seed=None))
    assert {e.community_id for e in seeded if isinstance(e, FlowRecord) and e.proto == 6} == {
        "1:3V71V58M3Ksw/yuFALMcW0LAHvc="
    }
    assert all(e.community_id is None for e in off if isinstance(e, (FlowRecord, AnomalyEvent)))


def test_the_agent_setting_reaches_the_flow_table(tmp_path):
    from edge_agent.agent import Agent
    from edge_agent.settings import AgentSettings

    s = AgentSettings(
        node_id="pi-1", source="sim:mixed", mqtt_url="memory://", outbox_path=tmp_path / "o.db",
        community_id_seed=7, l7=False, baseline=False,
    )  # fmt: skip
    agent = Agent(s, detectors=[])
    assert agent.pipeline.table.config.community_id_seed == 7
    assert agent.pipeline.table.config.l7 is False
    agent.outbox.close()
