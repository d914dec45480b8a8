"""What the parts' ``cli.py`` modules share: the TLS client options and settings from the
parsed arguments. Light at import (argparse and pathlib only), as every ``cli.py`` must be."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

    from contracts.transports import TransportOptions

    Settings = TypeVar("Settings", bound=BaseModel)


def add_tls_args(p: argparse.ArgumentParser, key_flag: str = "--key") -> None:
    """``--ca``, ``--cert`` and the client key (``key_flag``; the hub's commands use
    ``--cert-key``, their ``--key`` is the signing key) as ``ca_file``, ``cert_file``,
    ``key_file``."""
    p.add_argument("--ca", dest="ca_file", type=Path)
    p.add_argument("--cert", dest="cert_file", type=Path)
    p.add_argument(key_flag, dest="key_file", type=Path)


def tls_options(args: argparse.Namespace, client_id: str) -> TransportOptions:
    """The transport options of :func:`add_tls_args`' files for ``client_id``."""
    from contracts.transports import TransportOptions

    return TransportOptions(
        client_id=client_id, ca_file=args.ca_file, cert_file=args.cert_file, key_file=args.key_file
    )


def settings_from_args(
    cls: type[Settings], args: argparse.Namespace, log: logging.Logger, what: str
) -> Settings | None:
    """``cls`` from the arguments named like its fields and given on the command line (the
    rest from its defaults and environment); None, with the reasons logged, when invalid."""
    from pydantic import ValidationError

    given = {k: v for k, v in vars(args).items() if k in cls.model_fields and v is not None}
    try:
        return cls(**given)
    except ValidationError as exc:
        log.error("invalid %s settings:\n%s", what, exc)
        return None
