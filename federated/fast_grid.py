"""A ``Grid`` that waits for replies with a short poll.

Flower 1.42's ``GrpcGrid.send_and_receive`` pulls replies every 3 s, so each round waits on
average 1.5 s (up to 3 s) after the last node answered, for the training and for the
evaluation messages alike. One ServerApp polling its own SuperLink every ``poll_s`` is cheap
(one small gRPC call), so the hub's ServerApp wraps the grid it is given in this one. Every
other call goes to the wrapped grid unchanged.

It also keeps the wall-clock time of the last exchange (:attr:`FastPollGrid.last`: when the
messages were pushed and when each node's reply came in), from which the strategy derives
each round's breakdown with the stamps the nodes put in their replies.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from flwr.app import Message, RecordDict
from flwr.proto.node_pb2 import NodeInfo
from flwr.serverapp import Grid
from flwr.supercore.run import Run


@dataclass
class Exchange:
    """One ``send_and_receive``: wall-clock times (``time.time()``)."""

    pushed: float = 0.0
    received: dict[int, float] = field(default_factory=dict)
    """Flower node id -> when its reply was pulled"""


class FastPollGrid(Grid):
    def __init__(self, inner: Grid, poll_s: float = 0.2) -> None:
        if poll_s <= 0:
            raise ValueError("poll_s must be > 0")
        self.inner = inner
        self.poll_s = poll_s
        self.last = Exchange()

    def set_run(self, run: Run) -> None:
        self.inner.set_run(run)

    @property
    def run(self) -> Run:
        return self.inner.run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        return self.inner.create_message(content, message_type, dst_node_id, group_id, ttl)

    def get_node_ids(self) -> Iterable[int]:
        return self.inner.get_node_ids()

    def get_nodes(self) -> Iterable[NodeInfo]:
        return self.inner.get_nodes()

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        return self.inner.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return self.inner.pull_messages(message_ids)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        """Push, then pull every ``poll_s`` until every reply is in or ``timeout`` passed."""
        self.last = Exchange(pushed=time.time())
        pending = set(self.inner.push_messages(messages))
        end = None if timeout is None else time.monotonic() + timeout
        replies: list[Message] = []
        while pending:
            got = list(self.inner.pull_messages(pending))
            now = time.time()
            for m in got:
                src = getattr(m.metadata, "src_node_id", None)
                if src is not None:
                    self.last.received[int(src)] = now
            replies.extend(got)
            pending.difference_update(m.metadata.reply_to_message_id for m in got)
            if not pending or (end is not None and time.monotonic() >= end):
                break
            time.sleep(self.poll_s if end is None else min(self.poll_s, end - time.monotonic()))
        return replies
