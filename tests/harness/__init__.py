"""Real servers for tests and benchmarks: Apache Kafka (KRaft), Mosquitto, PostgreSQL.

No Docker engine on this machine kind: each server runs from its own binaries on loopback,
state under ``<repo>/.cache/servers/<name>-<port>/``. ``python -m tests.harness.servers``
starts, stops and reports them.
"""
