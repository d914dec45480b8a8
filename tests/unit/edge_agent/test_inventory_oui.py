"""MAC -> vendor from the IEEE OUI registry: the bundled one, Debian's CSV, or none."""

from __future__ import annotations

import pytest

from edge_agent.inventory.oui import OuiLookup, read_ieee_csv
from tests.unit.edge_agent.inventory_frames import PI_MAC, RANDOM_MAC

CSV = (
    "Registry,Assignment,Organization Name,Organization Address\n"
    "MA-L,B827EB,Raspberry Pi Foundation,Mitchell Wood House Caldecote GB\n"
    'MA-L,001C7F,"Check Point Software Technologies",5 Ha\'solelim St. Tel Aviv IL\n'
    "MA-L,XYZ123,not hex,nowhere\n"
)


def test_bundled_registry_names_the_vendor():
    pytest.importorskip("netaddr")
    oui = OuiLookup(csv_path=None)

    assert oui.vendor(PI_MAC) == "Raspberry Pi Foundation"
    assert oui.source == "netaddr"


def test_locally_administered_and_unregistered_macs_have_no_vendor():
    oui = OuiLookup(csv_path=None)

    assert oui.vendor(RANDOM_MAC) is None  # bit 1 of the first byte: a random MAC
    assert oui.vendor(bytes.fromhex("000000000001")) in (None, "XEROX CORPORATION")
    assert oui.vendor(b"\x01\x02") is None


def test_ieee_data_csv_is_the_fallback(tmp_path):
    path = tmp_path / "oui.csv"
    path.write_text(CSV)
    oui = OuiLookup(csv_path=path, use_netaddr=False)

    assert oui.vendor(PI_MAC) == "Raspberry Pi Foundation"
    assert oui.vendor(bytes.fromhex("001c7f53d028")) == "Check Point Software Technologies"
    assert oui.source == "ieee-data"
    assert len(read_ieee_csv(path)) == 2  # the malformed row skipped


def test_no_registry_at_all_means_vendor_unknown_not_an_error(tmp_path):
    oui = OuiLookup(csv_path=tmp_path / "absent.csv", use_netaddr=False)

    assert oui.vendor(PI_MAC) is None
    assert oui.source == "none"


def test_lookups_are_cached_per_oui(tmp_path):
    path = tmp_path / "oui.csv"
    path.write_text(CSV)
    oui = OuiLookup(csv_path=path, use_netaddr=False)
    oui.vendor(PI_MAC)
    path.unlink()  # the table is in memory: no file read per lookup

    assert oui.vendor(PI_MAC[:3] + b"\x00\x00\x01") == "Raspberry Pi Foundation"
