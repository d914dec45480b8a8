"""provisioning/templates and firmware_configs/: cloud-init's own schema check, ``systemd-analyze verify`` on the units,
the balena fleet files parsed and checked against the Compose specification."""

from __future__ import annotations

import configparser
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema_rs
import pytest
import yaml

from provisioning.node import OS_FLAVOURS, ProvisionRequest, provision
from provisioning.resources import shipped_templates

ROOT = Path(__file__).resolve().parents[3]
FW = ROOT / "firmware_configs"
TEMPLATES = Path(str(shipped_templates()))
SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"
UNITS = ("fednids-agent.service", "fednids-fl.service")
BINARIES = ("/opt/fednids/venv/bin/fednids", "/opt/fednids/venv/bin/flower-supernode")


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} missing: run `make system-deps` (scripts/system-deps.sh)"
    return path


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fw")
    key = d / "model-signing.pub"
    key.write_text("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n")
    provision(ProvisionRequest("pi-fw-1", d / "bundle", d / "ca", model_keys=(key,)))
    return d / "bundle"


def _schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_tool("cloud-init"), "schema", "--config-file", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("flavour", OS_FLAVOURS)
def test_rendered_user_data_passes_cloud_inits_schema_check(bundle, flavour):
    res = _schema(bundle / "cloud-init" / flavour / "user-data")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Valid cloud-config" in res.stdout


def test_the_schema_check_rejects_a_broken_user_data(tmp_path):
    bad = tmp_path / "user-data"
    bad.write_text("#cloud-config\nwrite_files:\n  - path: 12\n    defer: maybe\nruncmd: 3\n")
    res = _schema(bad)
    assert res.returncode != 0


@pytest.mark.parametrize("flavour", OS_FLAVOURS)
def test_user_data_writes_what_the_units_and_the_agent_read(bundle, flavour):
    doc = yaml.safe_load((bundle / "cloud-init" / flavour / "user-data").read_text())
    files = {f["path"]: f for f in doc["write_files"]}
    assert all(f.get("defer") is True for f in files.values())  # after the fednids user exists
    user = next(u for u in doc["users"] if isinstance(u, dict) and u["name"] == "fednids")
    assert user["system"] is True and user["shell"] == "/usr/sbin/nologin"
    for unit in UNITS:
        assert (
            files[f"/etc/systemd/system/{unit}"]["content"]
            == (TEMPLATES / "systemd" / unit).read_text()
        )
    needed = [
        "/etc/fednids/agent.env",
        "/etc/fednids/fl.env",
        "/etc/fednids/certs/ca.crt",
        "/etc/fednids/certs/node.crt",
        "/etc/fednids/certs/node.key",
        "/etc/fednids/flower/node.key",
        "/etc/fednids/model-keys/model-signing.pub",
        "/usr/local/sbin/fednids-install",
    ]
    assert [p for p in needed if p not in files] == []
    for key in ("/etc/fednids/certs/node.key", "/etc/fednids/flower/node.key"):
        assert files[key]["permissions"] == "0600" and files[key]["owner"] == "fednids:fednids"
    agent_paths = [
        line.split("=", 1)[1]
        for line in files["/etc/fednids/agent.env"]["content"].splitlines()
        if line.startswith(
            ("FEDNIDS_AGENT_CA_FILE", "FEDNIDS_AGENT_CERT_FILE", "FEDNIDS_AGENT_KEY_FILE")
        )
    ]
    assert agent_paths and all(p in files for p in agent_paths)
    assert doc["runcmd"] == [["sh", "/usr/local/sbin/fednids-install"]]
    script = files["/usr/local/sbin/fednids-install"]["content"]
    assert "'fednids[edge]'" in script and "torch" not in script.replace("no torch", "")
    syntax = subprocess.run(["sh", "-n"], input=script, text=True, capture_output=True, check=False)
    assert syntax.returncode == 0, syntax.stderr


@pytest.mark.parametrize("flavour", OS_FLAVOURS)
def test_network_config_and_meta_data(bundle, flavour):
    net = yaml.safe_load((bundle / "cloud-init" / flavour / "network-config").read_text())
    assert net["version"] == 2 and net["ethernets"]["eth0"]["dhcp4"] is True
    meta = yaml.safe_load((bundle / "cloud-init" / flavour / "meta-data").read_text())
    assert meta == {"instance-id": "fednids-pi-fw-1", "local-hostname": "pi-fw-1"}


def _verify(d: Path, text: str, name: str) -> subprocess.CompletedProcess[str]:
    for b in BINARIES:  # systemd-analyze checks that ExecStart's binary exists
        text = text.replace(b, "/bin/true")
    (d / name).write_text(text)
    return subprocess.run(
        [_tool("systemd-analyze"), "verify", f"./{name}"],
        cwd=d,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("unit", UNITS)
def test_units_pass_systemd_analyze_verify(tmp_path, unit):
    res = _verify(tmp_path, (TEMPLATES / "systemd" / unit).read_text(), unit)
    assert res.returncode == 0 and res.stdout + res.stderr == "", res.stdout + res.stderr


def test_systemd_analyze_verify_reports_a_broken_unit(tmp_path):
    text = (
        (TEMPLATES / "systemd" / UNITS[0])
        .read_text()
        .replace("NoNewPrivileges=yes", "NoNewPrivilege=yes")
    )
    res = _verify(tmp_path, text, "broken.service")
    assert "Unknown key" in res.stdout + res.stderr


def test_agent_unit_is_hardened():
    c = configparser.ConfigParser(strict=False, interpolation=None)
    c.optionxform = str  # type: ignore[assignment,method-assign]
    c.read_string((TEMPLATES / "systemd" / UNITS[0]).read_text())
    s = c["Service"]
    assert s["User"] == "fednids" and s["Group"] == "fednids"
    assert s["AmbientCapabilities"] == "CAP_NET_RAW" and s["CapabilityBoundingSet"] == "CAP_NET_RAW"
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert s[key] == "yes", key
    assert s["ProtectSystem"] == "strict" and s["StateDirectory"] == "fednids"
    assert s["Restart"] == "on-failure" and s["EnvironmentFile"] == "/etc/fednids/agent.env"
    fl = configparser.ConfigParser(strict=False, interpolation=None)
    fl.read_string((TEMPLATES / "systemd" / UNITS[1]).read_text())
    assert fl["Service"]["CapabilityBoundingSet"] == ""
    assert "--auth-supernode-private-key /etc/fednids/flower/node.key" in fl["Service"]["ExecStart"]


def test_balena_fleet_files():
    fleet = yaml.safe_load((FW / "balena" / "balena.yml").read_text())
    assert fleet["type"] == "sw.application" and fleet["name"]
    assert fleet["data"]["defaultDeviceType"] in fleet["data"]["supportedDeviceTypes"]
    assert all(
        t.endswith(("-64", "raspberrypi5")) or "aarch64" in t
        for t in fleet["data"]["supportedDeviceTypes"]
    )
    device = yaml.safe_load((FW / "balena" / "docker-compose.yml").read_text())
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    errors = [e.message for e in validator.iter_errors(device)]
    assert errors == []
    agent = device["services"]["agent"]
    assert agent["network_mode"] == "host" and agent["cap_add"] == ["NET_RAW"]
    assert (FW / "balena" / agent["build"]["context"] / agent["build"]["dockerfile"]).is_file()
    assert {v.split(":")[0] for v in agent["volumes"]} <= set(device["volumes"])
    syntax = subprocess.run(
        ["sh", "-n", str(FW / "balena" / "entrypoint.sh")], capture_output=True, check=False
    )
    assert syntax.returncode == 0


def test_balena_device_variables_cover_what_the_entrypoint_reads(bundle):
    names = {
        line.split("=", 1)[0]
        for line in (bundle / "balena-device.env").read_text().splitlines()
        if line and not line.startswith("#")
    }
    entry = (FW / "balena" / "entrypoint.sh").read_text()
    wanted = {w.split()[1] for w in entry.splitlines() if w.startswith("write FEDNIDS_")}
    assert wanted and wanted <= names
    assert "FEDNIDS_AGENT_NODE_ID" in names
