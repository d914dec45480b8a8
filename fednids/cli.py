"""``fednids <command>``: parse, set up logging, hand off to the part that owns the command.

Each part registers its subcommands in its own ``cli.py`` (argparse only; heavy imports
happen inside the handlers), so ``fednids agent`` on a Pi never imports the hub.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from fednids import __version__

# (module, what it adds) — a part whose module is missing on this install is skipped.
PARTS: tuple[str, ...] = (
    "contracts.cli",
    "edge_agent.cli",
    "bridge.cli",
    "hub.cli",
    "models.cli",
    "demo.cli",
    "provisioning.cli",
    "fednids.analyze_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fednids", description=__doc__)
    parser.add_argument("--version", action="version", version=f"fednids {__version__}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in PARTS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that part is not built or not installed here
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    result = args.handler(args)
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
