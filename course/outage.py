"""Stopping a lab's broker and starting it again, for the failure lessons ("broker down").

On the embedded broker, :func:`course.broker.stop` and :func:`course.broker.start`.  On
RabbitMQ, only a node this machine's course started can be stopped: ``python -m
course.rabbitmq start`` (Binder's ``binder/start``) exports its folder in
``$COURSE_RABBITMQ_NODE``, and :meth:`~course.rabbitmq.RabbitMQNode.attach` finds it there.
A learner's own RabbitMQ is never stopped: :class:`NotOurBroker` says so in one sentence.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import broker
from .errors import CourseError
from .i18n import _
from .rabbitmq import NODE_ENV_VAR, RabbitMQNode
from .transport_url import mask_url, parse_transport_url


class NotOurBroker(CourseError):
    """The lab's RabbitMQ was not started by the course on this machine: it stays up."""


class BrokerOutage:
    """The lab's broker, as something a lesson may stop and start again."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.embedded = broker.is_embedded(url)
        self._node: RabbitMQNode | None = None
        #: How often the broker was stopped, and started again.
        self.stops = self.starts = 0

    def node(self) -> RabbitMQNode:
        """The course's node this lab's URL points at (``$COURSE_RABBITMQ_NODE``)."""
        if self._node is not None:
            return self._node
        folder = os.environ.get(NODE_ENV_VAR, "").strip()
        node = RabbitMQNode.attach(Path(folder)) if folder else None
        ports = {host.port for host in parse_transport_url(self.url).hosts}
        if node is None or node.amqp_port not in ports:
            raise NotOurBroker(_(
                "The lab will not stop a broker it did not start: {url} is not the RabbitMQ "
                "node the course started on this machine (`python -m course.rabbitmq start`, "
                "which sets ${variable}).", url=mask_url(self.url), variable=NODE_ENV_VAR))
        self._node = node
        return node

    def stop(self) -> None:
        """Stop the broker: every connection drops, new ones are refused."""
        if self.embedded:
            broker.stop()
        else:
            self.node().halt()
        self.stops += 1

    def start(self) -> None:
        """Start it again, with what it keeps (durable queues, persistent messages)."""
        if self.embedded:
            broker.start()
        else:
            node = self.node()
            node.launch()
            node.save()  # its new process, for the next attach (another kernel, a test)
        self.starts += 1

    @property
    def down(self) -> bool:
        return self.stops > self.starts
