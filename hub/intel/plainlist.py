"""Plain indicator lists (abuse.ch style): one IP, CIDR, domain or JA4 per line; ``#`` and
``;`` start comments; blank lines are skipped; the first field of a line is the value."""

from __future__ import annotations

from contracts.indicators import Indicator
from hub.intel.common import FeedDefaults, make


def parse_list(text: str, feed: FeedDefaults) -> list[Indicator]:
    out: list[Indicator] = []
    for line in text.splitlines():
        body = line.split("#", 1)[0].split(";", 1)[0].strip()
        if not body:
            continue
        value = body.replace(",", " ").split()[0]
        ind = make(feed, value)
        if ind is not None:
            out.append(ind)
    return out
