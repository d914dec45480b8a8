"""MAC -> vendor from the IEEE OUI registry, offline (a Pi has no network at run time).

The registry comes from the ``netaddr`` package, which ships IEEE's ``oui.txt`` with an
index; when it is not installed, from Debian's ``ieee-data`` (``/usr/share/ieee-data/oui.csv``,
``scripts/system-deps.sh``). With neither, every vendor is unknown (``None``), never an error.
Locally administered MACs (random per-network MACs of phones, VMs) have no vendor."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

log = logging.getLogger(__name__)
IEEE_DATA_CSV = Path("/usr/share/ieee-data/oui.csv")
MAX_CACHE = 4096
_MISSING = object()


class OuiLookup:
    """``vendor(mac)``: the registered organisation of a 6-byte MAC, or None; cached per OUI."""

    def __init__(self, csv_path: Path | None = IEEE_DATA_CSV, use_netaddr: bool = True) -> None:
        self.csv_path = csv_path
        self.use_netaddr = use_netaddr
        self.source = "none"
        self._table: dict[int, str] | None = None
        self._netaddr: object | None = None
        self._cache: dict[int, str | None] = {}
        self._loaded = False

    def load(self) -> None:
        """Find the registry and read its index (else done at the first lookup)."""
        if self._loaded:
            return
        self._loaded = True
        if self.use_netaddr:
            try:
                from netaddr import OUI  # the IEEE registry, bundled
            except ImportError:
                pass
            else:
                self._netaddr, self.source = OUI, "netaddr"
                self._lookup(0xB827EB)  # netaddr reads its index at the first lookup
                return
        if self.csv_path is not None and self.csv_path.is_file():
            self._table, self.source = read_ieee_csv(self.csv_path), "ieee-data"
            return
        log.info("inventory: no OUI registry (netaddr or %s): vendors unknown", self.csv_path)

    def vendor(self, mac: bytes) -> str | None:
        if len(mac) != 6 or mac[0] & 0x02:  # locally administered (or multicast bit below)
            return None
        oui = int.from_bytes(mac[:3], "big")
        hit = self._cache.get(oui, _MISSING)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        if not self._loaded:
            self.load()
        found = self._lookup(oui)
        if len(self._cache) >= MAX_CACHE:
            self._cache.clear()
        self._cache[oui] = found
        return found

    def _lookup(self, oui: int) -> str | None:
        if self._netaddr is not None:
            try:
                org = self._netaddr(oui).registration(0).org  # type: ignore[operator]
            except Exception:  # noqa: BLE001 - netaddr raises NotRegisteredError and friends
                return None
            return _printable(str(org))
        if self._table is not None:
            return self._table.get(oui) or None
        return None


def read_ieee_csv(path: Path) -> dict[int, str]:
    """IEEE's ``oui.csv`` (Registry, Assignment, Organization Name, Organization Address)."""
    table: dict[int, str] = {}
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as f:
            for row in csv.reader(f):
                if len(row) >= 3 and len(row[1]) == 6:
                    try:
                        table[int(row[1], 16)] = _printable(row[2]) or ""
                    except ValueError:
                        continue
    except OSError as exc:
        log.warning("inventory: cannot read %s: %s", path, exc)
    return table


def _printable(text: str) -> str | None:
    return "".join(ch for ch in text if ch.isprintable()).strip()[:200] or None
