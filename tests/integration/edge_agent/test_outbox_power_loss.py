"""The outbox survives a pulled plug by default: every commit syncs the WAL before it returns
(seen with strace on the real SQLite), and a copy of the files taken mid-write (db, -wal,
-shm: what a crash leaves on disk) reopens intact with every committed row."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from edge_agent.outbox import Outbox
from edge_agent.settings import AgentSettings
from tests.harness.system import apt_install

pytestmark = pytest.mark.integration
COMMITS = 40
WRITER = """
import sys
from edge_agent.outbox import Outbox
ob = Outbox(sys.argv[1])  # the default, as the agent opens it
for i in range(int(sys.argv[2])):
    ob.put_many([("flows", b"x" * 300)] * 10)
ob.close()
"""


def _strace() -> str:
    found = shutil.which("strace")
    if found is None:
        apt_install(["strace"])
        found = shutil.which("strace")
    assert found, "strace is needed to watch SQLite's syncs"
    return found


def test_the_default_outbox_syncs_the_wal_at_every_commit(tmp_path):
    # prepare
    db = tmp_path / "outbox.db"
    log = tmp_path / "strace.log"
    # execute: COMMITS transactions in a child process, every fsync/fdatasync traced
    proc = subprocess.run(
        [
            _strace(),
            "-f",
            "-qq",
            "-y",
            "-e",
            "trace=fsync,fdatasync",
            "-o",
            str(log),
            sys.executable,
            "-c",
            WRITER,
            str(db),
            str(COMMITS),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    wal_syncs = sum("-wal>" in line for line in log.read_text().splitlines())
    # assert: at least one sync of the WAL per commit (NORMAL syncs only at checkpoints)
    assert wal_syncs >= COMMITS, f"{wal_syncs} WAL syncs for {COMMITS} commits"
    assert AgentSettings(node_id="pi-1").outbox_durable


def test_a_copy_taken_mid_write_reopens_with_every_committed_row(tmp_path):
    # prepare: a writer committing batches of 10 rows as fast as it can
    db = tmp_path / "outbox.db"
    ob = Outbox(db)
    assert ob.synchronous() == "FULL"
    committed = 0
    stop = threading.Event()

    def write() -> None:
        nonlocal committed
        i = 0
        while not stop.is_set():
            ob.put_many([("flows", b"%08d" % (i * 10 + j) + b"y" * 300) for j in range(10)])
            i += 1
            committed = i * 10  # put_many returned: these rows are committed

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    while committed < 500:
        threading.Event().wait(0.01)
    # execute: copy the files while the writer keeps committing (db first, then -wal, -shm)
    acked = committed
    copy = tmp_path / "copy"
    copy.mkdir()
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{db}{suffix}")
        if src.exists():
            shutil.copyfile(src, copy / f"outbox.db{suffix}")
    stop.set()
    writer.join(10)
    ob.close()
    # assert: the copy opens, passes integrity_check and holds every row acked before the copy
    con = sqlite3.connect(copy / "outbox.db")
    check = con.execute("PRAGMA integrity_check").fetchone()[0]
    rows = {bytes(p)[:8] for (p,) in con.execute("SELECT payload FROM outbox")}
    con.close()
    assert check == "ok"
    missing = [i for i in range(acked) if b"%08d" % i not in rows]
    assert not missing, f"{len(missing)} of {acked} committed rows missing from the copy"
    again = Outbox(copy / "outbox.db")
    assert len(again) >= acked
    again.close()
