"""Live capture with scapy in a pair of network namespaces joined by a veth link.

Traffic flows only between the two namespaces (10.231.0.1 <-> 10.231.0.2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = pytest.mark.integration

CAPTURE = r"""
import json, sys
from edge_agent.capture import open_source
from edge_agent.pipeline import Pipeline
src = open_source("live:" + sys.argv[1] + "?seconds=" + sys.argv[2])
pipe = Pipeline("live-test")
events = [e for p in src if p is not None for e in pipe.feed(p)] + pipe.close()
print(json.dumps({"counters": pipe.counters(), "flows": [[e.src_ip, e.dst_ip, e.dst_port, e.proto] for e in events if e.kind == "flow"]}))
"""

SEND = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[1])):
    s.sendto(b"x" * 100, ("10.231.0.1", 9000 + (i % 3)))
    time.sleep(0.01)
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def veth_pair():
    if os.geteuid() != 0:
        pytest.fail("live capture test needs root (network namespaces)")
    tag = uuid.uuid4().hex[:6]
    a, b = f"fna{tag}", f"fnb{tag}"
    _ip("netns", "add", a)
    _ip("netns", "add", b)
    try:
        _ip("link", "add", f"va{tag}", "type", "veth", "peer", "name", f"vb{tag}")
        _ip("link", "set", f"va{tag}", "netns", a)
        _ip("link", "set", f"vb{tag}", "netns", b)
        _ip("-n", a, "addr", "add", "10.231.0.1/24", "dev", f"va{tag}")
        _ip("-n", b, "addr", "add", "10.231.0.2/24", "dev", f"vb{tag}")
        for ns, dev in ((a, f"va{tag}"), (b, f"vb{tag}")):
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield a, b, f"va{tag}"
    finally:
        subprocess.run(["ip", "netns", "del", a], check=False)
        subprocess.run(["ip", "netns", "del", b], check=False)


def test_live_capture_in_a_namespace_sees_the_peer_traffic(veth_pair):
    ns_a, ns_b, dev = veth_pair
    # prepare: the agent's live source captures inside namespace A
    cap = subprocess.Popen(
        ["ip", "netns", "exec", ns_a, sys.executable, "-c", CAPTURE, dev, "6"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    )
    time.sleep(2.5)  # let the capture socket open
    # execute: namespace B sends 60 datagrams to three ports of A
    subprocess.run(["ip", "netns", "exec", ns_b, sys.executable, "-c", SEND, "60"], check=True)
    out, err = cap.communicate(timeout=60)
    # assert
    assert cap.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    udp = [
        f for f in result["flows"] if f[0] == "10.231.0.2" and f[1] == "10.231.0.1" and f[3] == 17
    ]
    assert sorted(f[2] for f in udp) == [9000, 9001, 9002]
    assert result["counters"]["packets"] >= 60
