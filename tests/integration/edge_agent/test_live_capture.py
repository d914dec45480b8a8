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
spec = "live:" + sys.argv[1] + "?seconds=" + sys.argv[2] + (("&filter=" + sys.argv[3]) if len(sys.argv) > 3 else "")
src = open_source(spec)
pipe = Pipeline("live-test", parse_stats=src.stats)
print("ready", flush=True)
events = [e for p in src if p is not None for e in pipe.feed(p)] + pipe.close()
flows = [[e.src_ip, e.dst_ip, e.dst_port, e.proto, e.end_reason] for e in events if e.kind == "flow"]
print(json.dumps({"counters": pipe.counters(), "flows": flows}))
"""

SERVE = r"""
import socket
srv = socket.create_server(("10.231.0.1", 7000))
srv.settimeout(20)
conn, _ = srv.accept()
conn.sendall(conn.recv(100) * 3)
conn.close()
"""

SEND = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[1])):
    s.sendto(b"x" * 100, ("10.231.0.1", 9000 + (i % 3)))
    time.sleep(0.01)
for attempt in range(50):  # the server may still be starting
    try:
        c = socket.create_connection(("10.231.0.1", 7000), timeout=5)
        break
    except ConnectionRefusedError:
        time.sleep(0.1)
c.sendall(b"hello")
while c.recv(100):
    pass
c.close()
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


def _capture(ns: str, dev: str, *bpf: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, "-c", CAPTURE, dev, "8", *bpf],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    return proc


def _result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_live_capture_in_a_namespace_sees_the_peer_traffic(veth_pair):
    ns_a, ns_b, dev = veth_pair
    # prepare: two live sources capture inside namespace A, one with a BPF filter
    everything = _capture(ns_a, dev)
    only_9001 = _capture(ns_a, dev, "udp and dst port 9001")
    server = subprocess.Popen(["ip", "netns", "exec", ns_a, sys.executable, "-c", SERVE])
    time.sleep(0.5)  # the sockets are open ("ready"); give the kernel a moment
    # execute: namespace B sends 60 datagrams to three ports of A, then one TCP exchange
    subprocess.run(["ip", "netns", "exec", ns_b, sys.executable, "-c", SEND, "60"], check=True)
    assert server.wait(timeout=30) == 0
    full, filtered = _result(everything), _result(only_9001)
    # assert
    udp = [f for f in full["flows"] if f[:2] == ["10.231.0.2", "10.231.0.1"] and f[3] == 17]
    assert sorted(f[2] for f in udp) == [9000, 9001, 9002]
    tcp = [f for f in full["flows"] if f[2] == 7000 and f[3] == 6]
    assert [f[4] for f in tcp] == ["fin"]  # the FIN handshake ended the flow
    assert full["counters"]["packets"] >= 60 + 6
    assert [f[2] for f in filtered["flows"]] == [9001]
    assert filtered["counters"]["packets"] == 20
