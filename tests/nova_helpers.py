"""What the Nova tests share (tests/test_nova*.py); the `clouds` fixture is in conftest."""

from __future__ import annotations

from course import rpc
from course.openstack.nova import Timings

#: No build time, no heartbeats: a lab as fast as the broker.
FAST = Timings.zero()


class Collector:
    """A notification listener's endpoint that keeps what it got."""

    def __init__(self):
        self.got = []
        self.payloads = {}  # event type -> the last payload of that type

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.got.append((publisher_id, event_type, ctxt.get("request_id")))
        self.payloads[event_type] = payload

    error = info


def listen(url, topic):
    """A notification listener on ``<topic>.*`` of exchange nova: (collector, listener,
    transport); stop the listener and clean the transport up afterwards."""
    collector = Collector()
    transport = rpc.get_transport(url, "nova", service="listener")
    listener = rpc.get_notification_listener(transport, [rpc.Target(topic=topic)], [collector])
    listener.start()
    return collector, listener, transport
