"""The lite console (hub/api/static/index.html, served when no dashboard is built) reads only
fields the API's response models have, and shows the incidents a suppression marked."""

from __future__ import annotations

import re
from importlib.resources import files

from contracts.events import AlertEvent
from hub.api.models.fleet import Overview

PAGE = (files("hub.api") / "static" / "index.html").read_text()


def test_the_overview_cards_read_fields_the_overview_has():
    # execute
    used = set(re.findall(r"\bov\.([a-z_]+)", PAGE))
    # assert
    assert used, "the page reads no overview field"
    assert used <= set(Overview.model_fields), used - set(Overview.model_fields)
    assert "alerts_suppressed" in used


def test_suppressed_incidents_are_marked_in_the_alert_list():
    # execute
    used = set(re.findall(r"\ba\.([a-z_]+)", PAGE))
    # assert: the alert rows read AlertEvent's fields (the anomaly rows use the same name)
    assert "suppressed_by" in used
    assert "suppressed_by" in AlertEvent.model_fields
