"""Real Flower ``Message`` objects for the apps and the strategy, without a SuperLink."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from flwr.app import Message, Metadata, RecordDict

MessageFactory = Callable[..., Message]
NODE_FEATURES = 49


@pytest.fixture
def make_message() -> MessageFactory:
    def make(
        content: RecordDict,
        message_type: str = "train",
        src_node_id: int = 1,
        dst_node_id: int = 7,
        reply_to: str = "",
    ) -> Message:
        meta = Metadata(
            run_id=1,
            message_id=uuid.uuid4().hex,
            src_node_id=src_node_id,
            dst_node_id=dst_node_id,
            reply_to_message_id=reply_to,
            group_id="1",
            created_at=time.time(),
            ttl=60.0,
            message_type=message_type,
        )
        return Message(content, metadata=meta)

    return make


@pytest.fixture
def server_task() -> Iterator[None]:
    """The task identity a ServerApp process has (the strategy builds messages with it)."""
    from flwr.supercore.task_identity import TaskIdentity

    saved = (TaskIdentity._run_id, TaskIdentity._node_id, TaskIdentity._task_id)
    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 1, 0, 1
    yield
    TaskIdentity._run_id, TaskIdentity._node_id, TaskIdentity._task_id = saved


@pytest.fixture
def node_data(tmp_path: Path) -> Path:
    """Raw flows of 4 hosts (npz:), 120 of them: ~110 windows of 10."""
    rng = np.random.default_rng(0)
    path = tmp_path / "flows.npz"
    np.savez(
        path,
        src=np.asarray([f"10.0.0.{i % 4}" for i in range(120)]),
        end_ts=np.arange(120, dtype=np.float64),
        features=rng.uniform(0, 50, size=(120, NODE_FEATURES)).astype(np.float32),
    )
    return path
