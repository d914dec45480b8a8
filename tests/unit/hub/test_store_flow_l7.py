"""The store keeps a flow's Community ID and L7 metadata (the ingestor would drop them
otherwise): columns ``community_id`` and ``l7`` (JSON) of ``flows``."""

from __future__ import annotations

import json

from sqlalchemy import select

from contracts.flowmeta import TlsMeta
from hub.storage.schema import flows
from hub.storage.store import EventStore
from tests.unit.contracts.samples import flow

CID = "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
JA4 = "t13d1516h2_8daaf6152771_e5627efa2ab1"


def test_community_id_and_metadata_are_stored(tmp_path):
    # prepare
    store = EventStore(f"sqlite:///{tmp_path / 'hub.db'}")
    store.create_schema()
    tls = TlsMeta(sni="www.example.com", version="TLS 1.3", alpn=["h2"], ja4=JA4)
    with_meta, bare = flow(community_id=CID, tls=tls), flow()
    # execute
    store.insert_events([with_meta, bare])
    with store.engine.connect() as conn:
        rows = {
            r.event_id: r
            for r in conn.execute(select(flows.c.event_id, flows.c.community_id, flows.c.l7))
        }
    # assert
    got = rows[str(with_meta.event_id)]
    assert got.community_id == CID
    assert json.loads(got.l7) == {"tls": tls.model_dump(mode="json")}
    assert rows[str(bare.event_id)].community_id is None and rows[str(bare.event_id)].l7 is None
