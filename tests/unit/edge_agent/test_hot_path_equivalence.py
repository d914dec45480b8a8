"""The hot path's lean code gives, to the bit, what the plain formulas give.

Per-flow LSTM errors against the contract transform written out as plain numpy (the shipped
int8 model, a simulated capture the test makes), the novelty score of one row against the
vectorised one, and the flow records the flow table builds against ``model_construct``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contracts import decode, encode
from contracts.events import FlowRecord
from contracts.scaling import log_features, scale_logged
from edge_agent.capture import open_source
from edge_agent.detectors.lstm import LoadedModel, LstmDetector
from edge_agent.detectors.novelty import NoveltyModel
from edge_agent.flows import table
from edge_agent.pipeline import Pipeline
from edge_agent.rules import RuleEngine

SHIPPED = Path(__file__).resolve().parents[3] / "models" / "artifacts" / "lstm-ae"
SIM = "sim:demo?seed=11&hosts=6&duration=90"


def _sim_flows() -> list[FlowRecord]:
    pipe = Pipeline("eq")
    events = [e for p in open_source(SIM) for e in pipe.feed(p)] + pipe.close()
    return [e for e in events if e.kind == "flow"]


def _reference_errors(m: LoadedModel, flows: list[FlowRecord]) -> list[float]:
    """The detector's errors as first written: scale_logged(log_features(.)), np.round and
    np.clip, a window tiled from the host's first flow and shifted by one row per flow."""
    hosts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    out = []
    for f in flows:
        x = scale_logged(log_features(f.features), m.lo, m.hi)
        q = np.clip(np.round(x / m.in_scale + m.in_zero), -128, 127).astype(np.int8)
        if f.src_ip not in hosts:
            hosts[f.src_ip] = (np.tile(x, (m.window, 1)), np.tile(q, (m.window, 1)))
        else:
            for buf, row in zip(hosts[f.src_ip], (x, q), strict=True):
                buf[:-1] = buf[1:]
                buf[-1] = row
        xs, qs = hosts[f.src_ip]
        m.interpreter.set_tensor(m.in_index, qs[None])
        m.interpreter.invoke()
        d = (m.interpreter.get_tensor(m.out_index)[0] - xs).ravel()
        out.append(float(d @ d) / d.size)
    return out


def test_lstm_errors_per_flow_equal_the_plain_transform_to_the_bit():
    # prepare: a simulated capture with several hosts (first flows and shifted windows)
    flows = _sim_flows()
    assert len({f.src_ip for f in flows}) >= 3 and len(flows) > 50
    det = LstmDetector.load(SHIPPED)
    ref = _reference_errors(LstmDetector.load(SHIPPED).model, flows)
    # execute
    got = [det.score_flow(f) for f in flows]
    # assert: identical errors, not merely close ones (thresholds are calibrated on them)
    assert got == ref
    assert det.scored == len(flows) and det.last_error == ref[-1]


def test_lstm_row_transform_equals_the_contract_one_and_leaves_its_input_alone():
    m = LstmDetector.load(SHIPPED).model
    rng = np.random.default_rng(3)
    rows = np.concatenate(
        [rng.lognormal(3, 4, (200, m.lo.size)), -rng.random((5, m.lo.size)), np.zeros((1, 49))]
    )
    for row in rows:
        given = row.astype(np.float32)
        keep = given.copy()
        x = m.scale_row(given)
        ref = scale_logged(log_features(row.tolist()), m.lo, m.hi)
        assert np.array_equal(x, ref) and x.dtype == np.float32
        assert np.array_equal(
            m.quantize(x),
            np.clip(np.round(ref / m.in_scale + m.in_zero), -128, 127).astype(np.int8),
        )
        assert np.array_equal(given, keep)  # scale_row copies: a caller's array is not changed


def test_novelty_row_score_equals_the_vectorised_score_to_the_bit():
    rng = np.random.default_rng(5)
    benign = rng.lognormal(2, 1.5, (300, 49))
    model = NoveltyModel.fit(benign)
    probes = np.concatenate([benign[:20], rng.lognormal(2, 4, (200, 49)), -benign[:5]])
    for row in probes:
        assert model.row_score(row.tolist()) == float(model.score(np.asarray(row.tolist())))


def test_flow_records_equal_what_model_construct_builds(monkeypatch):
    # prepare: the records of a simulated capture, built by the fast constructor
    assert table._FAST, "the flow table's record constructor fell back to model_construct"
    fast = _sim_flows()
    # execute: the same records through pydantic's own model_construct
    slow = [FlowRecord.model_construct(**dict(f.__dict__)) for f in fast]
    monkeypatch.setattr(table, "_FAST", False)
    fallback = _sim_flows()
    # assert: same fields in the model's order, same fields set, the same JSON on the wire
    for f, s in zip(fast, slow, strict=True):
        assert list(f.__dict__) == list(FlowRecord.model_fields)
        assert f.model_fields_set == s.model_fields_set
        assert encode(f) == encode(s)
        assert decode(encode(f)) == f  # and it validates as the contract
    strip = {"event_id", "ts"}
    assert [f.model_dump_json(exclude=strip) for f in fast] == [
        f.model_dump_json(exclude=strip) for f in fallback
    ]


@pytest.mark.parametrize("addr", [b"\x0a\x00\x00\x01", bytes(range(16))])
def test_address_text_is_cached_and_bounded(addr, monkeypatch):
    monkeypatch.setattr(table, "MAX_IPS", 2)
    table._IPS.clear()
    first = table._ip_text(addr)
    assert table._ip_text(addr) is first and first == table._ip(addr)
    table._ip_text(b"\x01\x02\x03\x04")
    table._ip_text(b"\x01\x02\x03\x05")  # full: cleared, never more than MAX_IPS entries
    assert len(table._IPS) <= 2


def test_the_compiled_rule_matcher_decides_what_each_rule_decides(tmp_path):
    # prepare: the shipped rules plus a user file with every field and operator, and flows
    # whose features sit on, just below and just above every threshold the rules name
    user = tmp_path / "user.toml"
    user.write_text(
        "[[rule]]\nid = 'every_field'\nseverity = 'low'\nscore = 'byte_ratio'\nthreshold = 1\n"
        "match = { byte_ratio = { gt = 2 }, land = { ne = 1 }, dst_bogon = { lt = 1 } }\n"
        "any = [ { src_bogon = { eq = 1 } }, { proto = { not_in = [6] }, src_port = { ge = 9 } } ]\n"
        "[[rule]]\nid = 'any_only'\nseverity = 'low'\nscore = 'proto'\nthreshold = 1\n"
        "match = {}\nany = [ { dst_port = { in = [53] } }, { fwd_packets = { le = 1 } } ]\n"
    )
    engine = RuleEngine(user)
    rules = engine.flow_rules
    values = sorted(
        {
            float(v)
            for r in rules
            for g in (r.match, *r.any_of)
            for c in g
            for v in (c.value if isinstance(c.value, frozenset) else (c.value,))
        }
    )
    rng = np.random.default_rng(7)
    flows = _sim_flows()
    probes = []
    for i in range(3000):
        base = flows[i % len(flows)]
        feats = [
            float(rng.choice(values)) + float(rng.choice([-1.0, 0.0, 0.5, 1.0]))
            if rng.random() < 0.5
            else x
            for x in base.features
        ]
        probes.append(
            base.model_copy(
                update={
                    "features": feats,
                    "dst_port": int(rng.choice([53, 22, 80, 123, 3389, 40000])),
                    "src_port": int(rng.choice([19, 53, 1900, 5, 50000])),
                    "proto": int(rng.choice([1, 6, 17])),
                    "src_ip": str(rng.choice(["10.0.0.1", "127.0.0.1", base.src_ip])),
                    "dst_ip": str(rng.choice(["10.0.0.1", "224.0.0.9", base.dst_ip])),
                }
            )
        )
    # execute
    matcher = engine._compile_matcher()
    got = [matcher(f, f.features) for f in probes]
    # assert: the indices of the rules each flow matches, in rule order, as _matches says
    want = [[i for i, r in enumerate(rules) if engine._matches(r, f, f.features)] for f in probes]
    assert got == want
    assert sum(map(len, want)) > 300 and {i for w in want for i in w} >= {
        len(rules) - 2,
        len(rules) - 1,
    }


@pytest.mark.parametrize("in_range", [True, False])
def test_lstm_rows_written_in_place_equal_scale_row_and_quantize(in_range):
    m = LstmDetector.load(SHIPPED).model
    assert m.in_range  # the shipped model: [0, 1] quantizes into int8 without the clip
    m.in_range = in_range  # False: the clipping path, as for a model whose range overflows
    rng = np.random.default_rng(4)
    rows = np.concatenate(
        [rng.lognormal(3, 4, (300, m.lo.size)), -rng.random((5, m.lo.size)), np.zeros((1, 49))]
    )
    x, q = np.empty((2, m.lo.size), np.float32), np.empty((2, m.lo.size), np.int8)
    for row in rows.tolist():
        m.scale_into(row, x[1], q[1])
        want = m.scale_row(row)
        assert np.array_equal(x[1], want) and np.array_equal(q[1], m.quantize(want))
