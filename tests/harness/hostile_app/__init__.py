"""A real federation with one hostile SuperNode (issue 15, item 4).

The hostile SuperNode is a real ``flower-supernode`` with a registered key, started like the
honest ones; only its machine differs: a ``flwr-clientapp`` of the attacker's comes first on
its ``PATH`` and runs :mod:`tests.harness.hostile_app.client_app` (the real training, then a
poisoned reply as an :class:`AttackPlan` file says; the plan can change between runs).

    dep = HostileDeployment.with_test_pki(tmp_path, port=19700)
    dep.start_superlink()
    dep.start_supernode("n1", data=...)                  # honest
    dep.start_hostile_supernode("evil", data=..., plan=POISON)
    dep.set_plan("evil", impersonate("n1"))
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from demo.federation import FlowerDeployment, TlsFiles
from tests.harness.certs import make_test_pki
from tests.harness.hostile_app.client_app import (
    PLAN_ENV,
    POISON,
    AttackPlan,
    impersonate,
)

__all__ = ["POISON", "AttackPlan", "HostileDeployment", "impersonate"]
REPO = Path(__file__).resolve().parents[3]

_SCRIPT = """#!{python}
# the attacker's flwr-clientapp (tests/harness/hostile_app/launcher.py)
import sys
sys.path.insert(0, {repo!r})
from tests.harness.hostile_app.launcher import main
main()
"""


@dataclass
class HostileDeployment(FlowerDeployment):
    hostile: dict[str, Path] = field(default_factory=dict)
    """hostile node name -> its attack plan file"""

    @classmethod
    def with_test_pki(cls, directory: Path, port: int) -> HostileDeployment:
        pki = make_test_pki(directory / "pki")
        return cls(directory, port=port, tls=TlsFiles(pki.ca, pki.server.cert, pki.server.key))

    def env(self, home: Path) -> dict[str, str]:
        env = super().env(home)
        plan = self.hostile.get(home.name) if home.parent == self.dir / "homes" else None
        if plan is not None:
            env["PATH"] = f"{plan.parent / 'bin'}{os.pathsep}{env['PATH']}"
            env[PLAN_ENV] = str(plan)
        return env

    def set_plan(self, name: str, plan: AttackPlan) -> None:
        plan.write(self.hostile[name])

    def start_hostile_supernode(
        self, name: str, data: str, plan: AttackPlan, extra_config: dict[str, object] | None = None
    ) -> None:
        root = self.dir / "attacker" / name
        script = root / "bin" / "flwr-clientapp"
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(_SCRIPT.format(python=sys.executable, repo=str(REPO)))
        script.chmod(0o755)
        self.hostile[name] = root / "plan.json"
        self.set_plan(name, plan)
        self.start_supernode(name, data, extra_config)
