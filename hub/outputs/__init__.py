"""Where verdicts leave the hub: Suricata EVE JSON and the outputs (syslog, webhook, Splunk
HEC, apprise, Kafka) the ``fednids hub outputs`` process feeds from the ``alerts`` topic."""

from hub.errors import HubError


class OutputError(HubError):
    """Root of the outputs' errors: a bad configuration, or a receiver that refused a record."""


__all__ = ["OutputError"]
