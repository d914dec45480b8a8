"""MAC -> vendor from the IEEE OUI registry, offline (a Pi has no network at run time).

The registry comes from the ``netaddr`` package, which ships IEEE's ``oui.txt`` with an
index; when it is not installed, from Debian's ``ieee-data`` (``/usr/share/ieee-data/oui.csv``,
``scripts/system-deps.sh``). With neither, every vendor is unknown (``None``), never an error.
Locally administered MACs (random per-network MACs of phones, VMs) have no vendor.

netaddr's files are read here, not through ``netaddr.OUI``: importing ``netaddr.eui`` loads
its OUI and IAB indices into dicts of lists (about 8 MB resident on the agent); this module
keeps the OUI index as three arrays (about 0.3 MB) and reads a record from ``oui.txt`` at a
lookup (once per OUI, cached), with netaddr's own parsing of it (the ``(hex)`` line's
organisation, the first record of an OUI)."""

from __future__ import annotations

import csv
import importlib.util
import logging
from array import array
from bisect import bisect_left
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
        self._netaddr: NetaddrRegistry | None = None
        self._cache: dict[int, str | None] = {}
        self._loaded = False

    def load(self) -> None:
        """Find the registry and read its index (else done at the first lookup)."""
        if self._loaded:
            return
        self._loaded = True
        if self.use_netaddr:
            registry = NetaddrRegistry.find()
            if registry is not None:
                self._netaddr, self.source = registry, "netaddr"
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
            org = self._netaddr.org(oui)
            return None if org is None else _printable(org)
        if self._table is not None:
            return self._table.get(oui) or None
        return None


class NetaddrRegistry:
    """netaddr's bundled ``oui.txt`` through its ``oui.idx`` (``oui,offset,size`` rows, in file
    order), without importing netaddr."""

    def __init__(self, txt: Path, idx: Path) -> None:
        self.txt = txt
        keys, offsets, sizes = array("I"), array("I"), array("I")  # file order
        with idx.open(encoding="utf-8") as f:
            for line in f:
                key, offset, size = line.split(",")
                keys.append(int(key))
                offsets.append(int(offset))
                sizes.append(int(size))
        order = sorted(range(len(keys)), key=keys.__getitem__)  # stable: first record first
        self._keys, self._offsets, self._sizes = array("I"), array("I"), array("I")
        last = -1
        for i in order:
            if keys[i] != last:  # netaddr's registration(0): an OUI's first record
                last = keys[i]
                self._keys.append(last)
                self._offsets.append(offsets[i])
                self._sizes.append(sizes[i])

    @classmethod
    def find(cls) -> NetaddrRegistry | None:
        """The installed netaddr's registry, or None (not installed, files missing or bad)."""
        try:
            spec = importlib.util.find_spec("netaddr")
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        eui = Path(next(iter(spec.submodule_search_locations))) / "eui"
        try:
            return cls(eui / "oui.txt", eui / "oui.idx")
        except (OSError, ValueError) as exc:
            log.warning("inventory: netaddr's OUI registry is unreadable: %s", exc)
            return None

    def __len__(self) -> int:
        return len(self._keys)

    def org(self, oui: int) -> str | None:
        """The organisation of ``oui`` as netaddr reads it ('' without one), None if unlisted."""
        i = bisect_left(self._keys, oui)
        if i == len(self._keys) or self._keys[i] != oui:
            return None
        try:
            with self.txt.open("rb") as f:
                f.seek(self._offsets[i])
                data = f.read(self._sizes[i]).decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        org = ""
        for raw in data.split("\n"):
            line = raw.strip()
            if "(hex)" in line:  # netaddr's OUI._parse_data: the last such line's third field
                parts = line.split(None, 2)
                org = parts[2] if len(parts) > 2 else ""
        return org


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
