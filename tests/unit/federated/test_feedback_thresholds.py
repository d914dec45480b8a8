"""False positives feed the thresholds (``federated/feedback.py``): the ratio, the bounds that
keep a hostile or mistaken mark from switching detection off, the fleet's rule, and what is
not used (other detectors, other models, bad numbers) counted rather than dropped."""

from __future__ import annotations

import pytest

from federated.feedback import FeedbackBounds, apply_feedback, feedback_for_export, node_events
from hub.storage.fp_feedback import MarkedAnomaly

COMPUTED = {"pi-1": 0.10, "pi-2": 0.05}
FLEET = 0.08


def mark(node="pi-1", score=0.13, threshold=0.10, detector="lstm", version="lstm-ae-3"):  # type: ignore[no-untyped-def]
    return MarkedAnomaly(
        incident_key="k", suppression_id="s", event_id=f"{node}-{score}-{detector}-{version}",
        node_id=node, detector=detector, score=score, threshold=threshold,
        model_version=version, threshold_scope="node",
    )  # fmt: skip


def test_no_false_positives_leave_every_threshold_unchanged():
    # execute
    fb = apply_feedback(COMPUTED, FLEET, [])
    # assert
    assert fb.thresholds_by_node == COMPUTED and fb.threshold == FLEET
    assert fb.applied == 0 and fb.nodes == {} and fb.ignored == {} and fb.fleet_factor == 1.0


def test_the_node_s_threshold_rises_by_the_largest_marked_ratio_times_the_margin():
    # prepare: two marks on pi-1, 1.3 and 1.2 times the threshold they were judged against
    marks = [mark(score=0.13, threshold=0.10), mark(score=0.06, threshold=0.05)]
    # execute
    fb = apply_feedback(COMPUTED, FLEET, marks, bounds=FeedbackBounds(margin=1.1))
    # assert: 0.10 x 1.3 x 1.1; pi-2 and the fleet (one node only) unchanged
    assert fb.thresholds_by_node["pi-1"] == pytest.approx(0.143)
    assert fb.thresholds_by_node["pi-2"] == 0.05 and fb.threshold == FLEET
    n = fb.nodes["pi-1"]
    assert (n.fps, n.capped) == (2, False)
    assert n.ratio == pytest.approx(1.3) and n.computed == 0.10
    assert fb.thresholds_by_node["pi-1"] > 0.13  # the marked score no longer passes


def test_the_ratio_is_applied_to_the_new_computed_threshold_not_the_old_one():
    # the round computed 0.20 for pi-1 (it was judged against 0.10): 0.20 x 1.3 x 1.1
    fb = apply_feedback({"pi-1": 0.20}, FLEET, [mark(score=0.13, threshold=0.10)])
    assert fb.thresholds_by_node["pi-1"] == pytest.approx(0.286)


def test_a_hostile_huge_score_is_capped_at_max_factor_and_max_threshold():
    # prepare: a mark 10^10 times its threshold (a hostile account, a broken sensor)
    marks = [mark(score=1e9, threshold=0.1)]
    # execute
    fb = apply_feedback(COMPUTED, FLEET, marks, bounds=FeedbackBounds(max_factor=2.0))
    tight = apply_feedback(
        COMPUTED, FLEET, marks, bounds=FeedbackBounds(max_factor=5.0, max_threshold=0.3)
    )
    # assert: at most 2x the node's own threshold; never above max-threshold
    assert fb.thresholds_by_node["pi-1"] == pytest.approx(0.20)
    assert fb.nodes["pi-1"].capped and fb.nodes["pi-1"].factor == pytest.approx(2.0)
    assert tight.thresholds_by_node["pi-1"] == pytest.approx(0.3) and tight.nodes["pi-1"].capped
    assert fb.threshold == FLEET


def test_other_detectors_other_models_and_bad_numbers_are_ignored_and_counted():
    # prepare
    marks = [
        mark(detector="rules", score=50.0),
        mark(detector="iforest", score=50.0),
        mark(version="other-model-3", score=50.0),
        mark(version=None, score=50.0),
        mark(threshold=0.0, score=50.0),
        mark(threshold=-1.0, score=50.0),
    ]
    # execute
    fb = apply_feedback(COMPUTED, FLEET, marks)
    # assert
    assert fb.thresholds_by_node == COMPUTED and fb.threshold == FLEET and fb.applied == 0
    assert fb.ignored == {"detector": 2, "model": 2, "invalid": 2}
    assert fb.metadata()["ignored"] == fb.ignored


def test_a_score_below_its_threshold_never_lowers_a_threshold():
    fb = apply_feedback(COMPUTED, FLEET, [mark(score=0.01, threshold=0.10)])
    assert fb.thresholds_by_node["pi-1"] == 0.10 and fb.nodes["pi-1"].factor == 1.0


def test_the_fleet_reacts_only_when_enough_nodes_agree_and_by_the_kth_factor():
    # prepare: pi-1 asks for 2x (10x, capped), pi-2 for 1.43x
    one = [mark(score=1.0, threshold=0.1)]
    two = [*one, mark(node="pi-2", score=0.065, threshold=0.05)]
    # execute
    fb_one = apply_feedback(COMPUTED, FLEET, one)
    fb_two = apply_feedback(COMPUTED, FLEET, two)
    never = apply_feedback(COMPUTED, FLEET, two, bounds=FeedbackBounds(fleet_nodes=0))
    # assert: one node never moves the fleet; two move it by the smaller of their factors
    assert fb_one.threshold == FLEET and fb_one.fleet_factor == 1.0
    assert fb_two.fleet_factor == pytest.approx(1.3 * 1.1)
    assert fb_two.threshold == pytest.approx(FLEET * 1.43)
    assert never.threshold == FLEET


def test_a_node_the_round_did_not_calibrate_gets_its_own_threshold_from_the_fleet_s():
    fb = apply_feedback(COMPUTED, FLEET, [mark(node="pi-9", score=0.104, threshold=0.08)])
    assert fb.thresholds_by_node["pi-9"] == pytest.approx(FLEET * 1.3 * 1.1)
    assert fb.nodes["pi-9"].computed == FLEET and fb.threshold == FLEET


def test_per_node_fl_events_report_what_was_applied():
    fb = apply_feedback(COMPUTED, FLEET, [mark(score=1e9, threshold=0.1)])
    (ev,) = node_events(fb, 4, "lstm-ae-5")
    assert ev.node_id == "pi-1" and ev.phase == "model_published" and ev.round == 4
    assert ev.metrics["fp_applied"] == 1.0 and ev.metrics["fp_capped"] == 1.0
    assert ev.metrics["threshold"] == pytest.approx(0.2)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///{tmp}/missing.db",
        "nosuchdriver://x",
        "sqlite:///{tmp}/empty.db",
        "postgresql://u:hunter2@127.0.0.1:1/db",
    ],
)
def test_an_unreadable_store_applies_nothing_and_says_why(tmp_path, url):
    # prepare: a missing file, an unknown driver, no hub tables, a server that is not there
    (tmp_path / "empty.db").write_bytes(b"")
    # execute
    fb = feedback_for_export(url.format(tmp=tmp_path), COMPUTED, FLEET, "lstm-ae", FeedbackBounds())
    # assert: the computed thresholds, the failure reported (the detail on the hub only),
    # and never the store's password
    assert fb.thresholds_by_node == COMPUTED and fb.threshold == FLEET
    assert fb.error and fb.summary()["error"] == fb.error
    assert fb.metadata()["error"].startswith("not applied")
    assert "hunter2" not in fb.error
