"""docker-compose.yml without a Docker engine: the Compose Specification's JSON Schema, the
service graph, required variables, no plaintext secrets, and every ``fednids`` command it
runs checked against the CLI's own argparse tree."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from bridge.mqtt_security import MqttSecurity, render_acl, render_config, render_service_acl
from fednids.cli import build_parser

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
SECRET_NAME = re.compile(
    r"PASSWORD|SECRET|TOKEN|PRIVATE|CLUSTER_ID|_PKI_|SIGNING|BRIDGE_GROUP", re.I
)
HUB_SERVICES = {
    "kafka",
    "mosquitto",
    "postgres",
    "migrate",
    "bridge",
    "ingestor",
    "anomaly-iforest",
    "threat-classifier",
    "gnn-predictor",
    "alerting",
    "outputs",
    "api",
    "superlink",
    "dashboard",
}
SERVERS = {"kafka", "mosquitto", "postgres", "api", "superlink", "dashboard", "outputs"}


def _load(text: str | None = None) -> dict[str, Any]:
    return yaml.safe_load(text if text is not None else COMPOSE.read_text())


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable rules: ``${V}``, ``${V:-default}``, ``${V:?error}``, ``$$``."""

    def sub(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        value = env.get(name, "")
        if op == ":?" and not value:
            raise ValueError(f"required variable {name} is missing: {arg}")
        if op == ":-" and not value:
            return arg
        return value

    return VAR.sub(sub, text.replace("$$", "\x00")).replace("\x00", "$")


SAMPLE_ENV = {
    "POSTGRES_PASSWORD": "pw-sample",
    "KAFKA_CLUSTER_ID": "MkU3OEVBNTcwNTJENDM2Qk",
    "FEDNIDS_PKI_DIR": "./pki",
    "FEDNIDS_SIGNING_DIR": "./signing",
    "FEDNIDS_BRIDGE_GROUP": "bridges-0123456789abcdef0123456789abcdef",
    "FEDNIDS_OUTPUTS_CONFIG": "../fednids-outputs.toml",
}


@pytest.fixture(scope="module")
def schema_validator() -> jsonschema_rs.Validator:  # type: ignore[name-defined]
    return jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))


def test_compose_file_is_valid_against_the_compose_specification(schema_validator):
    errors = [f"{e.instance_path}: {e.message}" for e in schema_validator.iter_errors(_load())]
    assert errors == []
    resolved = _load(interpolate(COMPOSE.read_text(), SAMPLE_ENV))
    assert [e.message for e in schema_validator.iter_errors(resolved)] == []


def test_the_schema_check_catches_a_broken_service(schema_validator):
    doc = _load()
    doc["services"]["api"]["depends_on"] = {"migrate": {"condition": "service_finished"}}
    doc["services"]["api"]["healthcheck"]["retries"] = "many"
    assert len(list(schema_validator.iter_errors(doc))) >= 2


def test_every_required_variable_fails_loudly_when_missing():
    text = COMPOSE.read_text()
    for name in SAMPLE_ENV:
        env = {k: v for k, v in SAMPLE_ENV.items() if k != name}
        with pytest.raises(ValueError, match=name):
            interpolate(text, env)


def test_secrets_have_no_defaults_and_nothing_secret_is_written_in_plain_text():
    text = COMPOSE.read_text()
    for m in VAR.finditer(text):
        if SECRET_NAME.search(m.group(1)):
            assert m.group(2) == ":?", f"${{{m.group(1)}}} must be required (:?), not defaulted"
    assert "BEGIN" not in text and "PRIVATE KEY" not in text
    for name, svc in _load()["services"].items():
        env = svc.get("environment") or {}
        assert isinstance(env, dict), f"{name}: use a mapping for environment"
        for key, value in env.items():
            if SECRET_NAME.search(key) and not key.endswith(("_FILE", "_KEYS")):
                assert VAR.search(str(value)), f"{name}.{key} is a literal secret"
            if "://" in str(value) and "@" in str(value):  # credentials inside URLs
                assert VAR.search(str(value).split("@")[0]), f"{name}.{key} has a literal password"
    example = (ROOT / "docker" / ".env.example").read_text()
    for line in example.splitlines():
        if line and not line.startswith("#") and SECRET_NAME.search(line.split("=")[0]):
            key, _, value = line.partition("=")
            if "PASSWORD" in key or "CLUSTER_ID" in key or "BRIDGE_GROUP" in key:
                assert value == "", f"{key} must stay empty in .env.example"


def test_service_graph():
    doc = _load()
    services = doc["services"]
    assert set(services) >= HUB_SERVICES
    declared_volumes = set(doc.get("volumes") or {})
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, f"{name}: neither image nor build"
        if "build" in svc:
            b = svc["build"]
            assert (ROOT / b["context"] / b["dockerfile"]).is_file(), f"{name}: {b}"
        for target, cond in (svc.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            c = cond["condition"]
            if c == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"
            if c == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} is not a one-shot"
        for vol in svc.get("volumes") or []:
            source = str(vol).split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: bind source {source} missing"
            elif not source.startswith(("/", "$")):
                assert source in declared_volumes, f"{name}: volume {source} not declared"
    for name in SERVERS:
        hc = services[name]["healthcheck"]
        assert hc["test"][0] in ("CMD", "CMD-SHELL") and hc["retries"] >= 3, name
    # no cycles in depends_on
    seen: dict[str, int] = {}

    def visit(n: str) -> None:
        assert seen.get(n) != 1, f"depends_on cycle through {n}"
        if seen.get(n) == 2:
            return
        seen[n] = 1
        for t in services[n].get("depends_on") or {}:
            visit(t)
        seen[n] = 2

    for n in services:
        visit(n)
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert (
        services["ingestor"]["depends_on"]["migrate"]["condition"]
        == "service_completed_successfully"
    )


def test_images_are_the_official_ones_at_the_required_versions():
    s = _load()["services"]
    assert s["kafka"]["image"].startswith("apache/kafka:")
    assert s["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    assert s["postgres"]["image"] == "postgres:15"
    image, _, version = s["mosquitto"]["image"].partition(":")
    assert image == "eclipse-mosquitto"
    assert tuple(int(x) for x in version.split(".")) >= (2, 0, 12)  # shared subs persistence


def test_sim_profile_adds_three_simulated_agents():
    s = _load()["services"]
    sims = {n: v for n, v in s.items() if "sim" in (v.get("profiles") or [])}
    assert len(sims) == 3
    ids = {v["environment"]["FEDNIDS_AGENT_NODE_ID"] for v in sims.values()}
    assert len(ids) == 3
    for v in sims.values():
        cmd = v["command"]
        assert cmd[:3] == ["fednids", "agent", "run"]
        assert cmd[cmd.index("--source") + 1].startswith("sim:")
    for n in HUB_SERVICES:
        assert "profiles" not in s[n], f"{n} must start without a profile"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            return dict(a.choices)
    return {}


def _check_fednids(argv: list[str]) -> None:
    parser = build_parser()
    words = list(argv[1:])
    path = ["fednids"]
    while words and (subs := _subcommands(parser)) and not words[0].startswith("-"):
        assert words[0] in subs, f"`{' '.join([*path, words[0]])}` is not a fednids command"
        path.append(words.pop(0))
        parser = subs[path[-1]]
    assert not _subcommands(parser), f"`{' '.join(path)}` needs a subcommand"
    known = {o for a in parser._actions for o in a.option_strings}
    for w in words:
        if w.startswith("--"):
            assert w.split("=")[0] in known, f"`{' '.join(path)}` has no option {w}"


def _commands() -> list[tuple[str, list[str]]]:
    out = []
    for name, svc in _load()["services"].items():
        cmd = svc.get("command")
        if cmd is not None:
            out.append((name, cmd if isinstance(cmd, list) else shlex.split(cmd)))
    return out


def test_every_fednids_command_in_compose_exists_in_the_cli():
    cmds = [(n, c) for n, c in _commands() if c[0] == "fednids"]
    assert len(cmds) >= 12
    for _name, cmd in cmds:
        _check_fednids(cmd)
        # and argparse accepts it as written
        build_parser().parse_args(cmd[1:])


def test_the_command_check_catches_a_typo():
    with pytest.raises(AssertionError, match="not a fednids command"):
        _check_fednids(["fednids", "hub", "ingester"])
    with pytest.raises(AssertionError, match="no option"):
        _check_fednids(["fednids", "agent", "run", "--mqtt-url", "x"])


def test_superlink_options_exist_in_the_installed_flower():
    (cmd,) = [c for _, c in _commands() if c[0] == "flower-superlink"]
    exe = Path(sys.executable).with_name("flower-superlink")
    res = subprocess.run(
        [str(exe), "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert res.returncode == 0, res.stderr
    for w in cmd[1:]:
        if w.startswith("--"):
            assert re.search(rf"(^|\s){re.escape(w)}[\s=]", res.stdout), f"flower-superlink {w}"


def test_mosquitto_config_is_the_bridges_mtls_and_acl_rendering():
    sec = MqttSecurity(
        ca_file=Path("/mosquitto/certs/nodes-ca.crt"),
        cert_file=Path("/mosquitto/certs/server.crt"),
        key_file=Path("/mosquitto/certs/server.key"),
        data_dir=Path("/mosquitto/data"),
        service_ca_file=Path("/mosquitto/certs/ca.crt"),
        crl_file=Path("/mosquitto/certs/crl.pem"),
    )
    d = ROOT / "docker" / "mosquitto"
    assert (d / "mosquitto.conf").read_text() == render_config(sec, Path("/mosquitto/config/acl"))
    assert (d / "acl").read_text() == render_acl(sec)
    assert (d / "acl-services").read_text() == render_service_acl(sec)
    s = _load()["services"]
    hc = s["mosquitto"]["healthcheck"]["test"]
    assert "/mosquitto/certs/health.crt" in hc  # made by `fednids provision-hub`
    # services talk to the service listener, sensors to the node listener
    assert hc[hc.index("-p") + 1] == str(sec.service_port)
    assert s["bridge"]["environment"]["FEDNIDS_BRIDGE_MQTT_URL"].endswith(f":{sec.service_port}")
    assert f"mqtts://mosquitto:{sec.service_port}" in " ".join(s["fl-run"]["command"])
    for name, svc in s.items():
        if "sim" in (svc.get("profiles") or []):
            assert svc["environment"]["FEDNIDS_AGENT_MQTT_URL"].endswith(f":{sec.port}"), name
    assert s["mosquitto"]["ports"] == ["${MQTT_PORT:-8883}:8883"]  # 8884 is not published


def test_the_outputs_service_reads_its_file_as_a_secret_and_the_rest_from_the_environment():
    """`fednids hub outputs`: its TOML (the receivers' tokens) is a compose secret from a file
    outside the repository; the broker, the store and the metrics address come from the
    environment, as OutputsSettings fields; the example file passes the process's own check."""
    from hub.outputs.config import OutputsSettings, load_config

    doc = _load()
    svc = doc["services"]["outputs"]
    (secret,) = svc["secrets"]
    src = doc["secrets"][secret]["file"]
    (m,) = VAR.finditer(src)
    assert m.group(0) == src and m.group(2) == ":?", "the file's path is a required variable"
    cmd = svc["command"]
    assert cmd[:3] == ["fednids", "hub", "outputs"]
    assert cmd[cmd.index("--config") + 1] == f"/run/secrets/{secret}"
    env = svc["environment"]
    fields = {f"FEDNIDS_OUTPUTS_{k.upper()}" for k in OutputsSettings.model_fields}
    assert set(env) <= fields, set(env) - fields
    assert env["FEDNIDS_OUTPUTS_KAFKA_URL"] == "kafka://kafka:9092"
    assert "${POSTGRES_PASSWORD:?" in env["FEDNIDS_OUTPUTS_DB_URL"]
    assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "ports" not in svc  # /metrics stays on the backend network
    assert "9309" in " ".join(svc["healthcheck"]["test"])
    example = ROOT / "docker" / "outputs.example.toml"
    settings = load_config(example)
    assert [o.type for o in settings.outputs] == ["kafka"]
    keys = {ln.split("=")[0].strip() for ln in example.read_text().splitlines() if "=" in ln}
    assert not keys & {"kafka_url", "db_url", "metrics_host"}  # the environment's, not the file's
    assert "FEDNIDS_OUTPUTS_CONFIG=" in (ROOT / "docker" / ".env.example").read_text()
