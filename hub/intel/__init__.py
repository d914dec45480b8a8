"""Threat intel on the hub: import STIX 2.1, MISP and plain-list feeds, merge and expire them
into one indicator bundle (:mod:`contracts.indicators`), sign it with the model-signing key
and publish it retained to the fleet (``fednids hub intel import | publish``)."""

from hub.intel.common import FeedDefaults, IntelError
from hub.intel.merge import build_bundle, merge

__all__ = ["FeedDefaults", "IntelError", "build_bundle", "merge"]
