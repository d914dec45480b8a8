"""Alerting: detections, classifications and predictions -> incidents an operator can trust.

An incident is one attack: its family, the host it is about, the detectors that agreed, the
evidence, and its window in event time. The policy:

* **Grouping.** A detection joins the open incident with the same family and subject. The
  subject of a flood (``dos``) is its *target*: thousands of spoofed sources make one
  incident, "SYN flood against T from N sources" (sources are counted, and named only up to
  8). Every other family is about its *attacker*: a scanner, brute forcer or botnet host
  that touches many hosts is one incident, naming up to 16 targets and counting the rest.
  A botnet host's scanning belongs to its botnet incident (a scan incident becomes a
  botnet one when a botnet rule names its attacker). Traffic *to* the attacker of an open
  incident of the same family (replies, C2, a router) is evidence of that incident, not a
  new attacker. When ``fanin_sources`` distinct sources of the same family hit one target within
  ``corroborate_s``, later ones fold into one incident about that target ("... against T
  from N sources") instead of one per source.
* **Event time.** Windows and quiet periods are in event time: ``AnomalyEvent.window_end``
  (else ``window_start``), which is capture time for a replay and wall time live; the
  envelope ``ts`` when a window is missing or lies in the future of its own envelope, or of
  the hub's own clock, by more than an hour (a stolen sensor sets both its window and its
  envelope: only the hub's clock bounds them). Each incident keeps its own ``event_first_ts`` / ``event_last_ts``; there is
  no shared clock that one far-off event could move. A detection more than ``quiet_s`` after
  its incident's last one closes it and opens the next (``key#2``); one more than ``quiet_s``
  before its first one does not join it. A classification takes the event time of the
  anomalies it names (``anomaly_ids``), a prediction that of its sources.
* **Who may open an incident.** A rule detection with a family (``AnomalyEvent.family``: a
  rule carries its family in its rule file; no rule id maps to a family here) opens one when its severity is
  at least ``min_severity``; below it, it only joins or corroborates. An *unsupervised*
  detection (``novelty``, ``lstm``, ``iforest``, or a rule of family ``other``) never opens
  one alone, even when the edge attributed it to a family (host-window escalation; that
  family then names the incident it opens or joins): it joins the open incident of that
  family and subject, else, as evidence, an open incident that involves one of its hosts (within
  ``corroborate_s`` of that incident's window; the incident's ``detectors`` then list it),
  and otherwise waits in a bounded per-host window. It opens an "Unusual traffic from H"
  incident only when corroborated within ``corroborate_s``: at least
  ``corroborate_detectors`` distinct independent detectors (rules, novelty, lstm, iforest;
  the classifier re-reads their votes and does not count) on at least ``corroborate_flows``
  distinct flows from H, or as a target, from at least ``fanin_sources`` distinct sources;
  or a single detection of severity at least ``solo_severity`` (default ``critical``, which
  the shipped unsupervised detectors never emit). Uncorroborated detections stay visible as
  detections (the ingestor stores every anomaly); ``dropped`` counts them.
* **Classifications** (threat classifier) join the incident of the anomalies they name, else
  the incident of their family and subject, else one that involves their hosts. One with
  confidence >= ``classified_open_confidence`` opens its own only when its votes are
  corroborated themselves (a rule voted, or ``corroborate_detectors`` independent detectors;
  or it lists no votes at all): a confident verdict on one unsupervised vote is that vote
  again. A classification names the family of an incident that only had ``other``.
* **Predictions.** A host the GNN predicted and that is then seen in a detection within
  ``prediction_ttl_s`` escalates that incident (one severity up, ``escalated``); a
  prediction with probability >= ``predicted_alert_p`` opens ``predicted-<family>:<host>``.
* **Updates.** The first detection emits the incident; later ones update it at once when
  its family, severity, escalation, detectors or named attacker change, else when its count
  doubled or ``update_every_s`` (processing time) passed. :meth:`AlertingService.due` sends
  what is due (a runtime's idle ticks), :meth:`AlertingService.flush` everything unsent.
* **Bounded state.** At most ``max_open`` open incidents (the least recently touched is
  closed first), bounded lists per incident (the contract's), distinct counts exact to 2,048
  and estimated past it, bounded pending windows, ids and serials. An incident closes when a
  detection about its subject comes more than ``quiet_s`` of event time after its last one
  (that detection opens the next), or after ``idle_s`` of processing time without one; its
  last unsent state is emitted when it closes. No event clock is shared, not even per sensor:
  in a replay the edge's detections run ahead of the hub's own for the same capture time.
"""

from hub.services.alerting.incident import Incident
from hub.services.alerting.policy import TARGET_KEYED, UNSUPERVISED
from hub.services.alerting.service import AlertingService

__all__ = ["TARGET_KEYED", "UNSUPERVISED", "AlertingService", "Incident"]
