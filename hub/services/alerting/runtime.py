"""The alerting service's runtime: the shared one, plus idle ticks that send due updates."""

from __future__ import annotations

from contracts.codec import encode
from contracts.topics import topic_for_event_kind
from hub.errors import HubError
from hub.services.alerting.service import AlertingService
from hub.services.runtime import ServiceRuntime


class AlertingRuntime(ServiceRuntime):
    """When a poll brings nothing, the incidents' withheld updates that are due (and the last
    state of incidents that went idle) are still published: nothing to commit for them."""

    def step(self, timeout: float = 0.5) -> int:
        n = super().step(timeout)
        svc = self.service
        if n == 0 and isinstance(svc, AlertingService):
            outs = svc.due()
            for ev in outs:
                topic = topic_for_event_kind(ev.kind).value
                self.pub.publish(topic, encode(ev), key=ev.node_id.encode())
            if outs and self.pub.flush(60) != 0:
                raise HubError("alerting: idle updates not confirmed")
            self.produced += len(outs)
        return n
