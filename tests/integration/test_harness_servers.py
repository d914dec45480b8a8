"""The harness itself: each real server answers, starts idempotently, and survives a kill."""

from __future__ import annotations

import time
import uuid

import pytest

from contracts import encode
from contracts.transports import TransportOptions, open_publisher, open_subscriber, parse_url
from contracts.transports.kafka import cluster_metadata, ensure_topics
from tests.harness.certs import make_test_pki
from tests.harness.servers import KafkaServer, MosquittoServer, ensure_kafka
from tests.unit.contracts.samples import flow

pytestmark = pytest.mark.integration


def test_start_twice_reuses_the_running_kafka(kafka_server):
    pid = kafka_server.pid()
    again = ensure_kafka()
    assert again.pid() == pid


def test_postgres_answers_select_version(postgres_server):
    import psycopg2

    with psycopg2.connect(postgres_server.url) as conn, conn.cursor() as cur:
        cur.execute("SELECT version()")
        version = cur.fetchone()[0]
    assert version.startswith("PostgreSQL 15")


def test_private_kafka_keeps_its_data_across_kill_and_restart():
    # prepare: a private broker on other ports, one committed record
    server = KafkaServer(port=29092)
    server.wipe()
    server.start()
    try:
        url = parse_url(server.url)
        cluster = cluster_metadata(url)["cluster_id"]
        ensure_topics(url, ["keep"], partitions=1)
        pub = open_publisher(server.url)
        pub.publish("keep", encode(flow(flow_id="before-kill")))
        assert pub.flush(30) == 0
        # execute
        server.kill()
        assert not server.is_running()
        server.start()
        # assert: same cluster, record still there
        assert cluster_metadata(url)["cluster_id"] == cluster
        sub = open_subscriber(server.url, ["keep"], group=f"g{uuid.uuid4().hex[:6]}")
        deadline, got = time.monotonic() + 30, []
        while not got and time.monotonic() < deadline:
            got = sub.poll(1.0)
        sub.close()
        assert got and b"before-kill" in got[0].value
    finally:
        server.stop()


def test_mosquitto_with_mutual_tls_refuses_clients_without_a_cert(tmp_path):
    # prepare
    pki = make_test_pki(tmp_path / "pki", clients=("pi-1",))
    extra = (
        f"listener 21884 127.0.0.1\nrequire_certificate true\nuse_identity_as_username true\n"
        f"cafile {pki.ca}\ncertfile {pki.server.cert}\nkeyfile {pki.server.key}\nallow_anonymous false\n"
    )
    server = MosquittoServer(port=21883, extra_config=extra)
    server.start()
    try:
        client = pki.client("pi-1")
        good = TransportOptions(
            ca_file=pki.ca, cert_file=client.cert, key_file=client.key, clean_start=True
        )
        bad = TransportOptions(ca_file=pki.ca, clean_start=True)
        # execute
        pub_ok = open_publisher("mqtts://localhost:21884", good)
        pub_ok.wait_connected(10)  # type: ignore[attr-defined]
        pub_bad = open_publisher("mqtts://localhost:21884", bad)
        time.sleep(2)
        # assert
        assert pub_ok.connected  # type: ignore[attr-defined]
        assert not pub_bad.connected  # type: ignore[attr-defined]
        pub_ok.close()
        pub_bad.close()
    finally:
        server.stop()
