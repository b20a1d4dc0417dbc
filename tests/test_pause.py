"""A paused service (``Service.pause()``, like ``kill -STOP``) on both brokers: it consumes
and acks nothing, its periodic tasks wait, its connections stay open; ``resume()`` lets it
go on with what waited."""

from __future__ import annotations

import threading

import pytest
from helpers import eventually

from course import rpc
from course.errors import CourseError
from course.openstack.service import Service

pytestmark = pytest.mark.usefixtures("stops_its_threads")


class Recorder:
    """An endpoint that keeps what it was cast."""

    def __init__(self):
        self.got = []
        self.changed = threading.Event()

    def note(self, ctxt, n):
        self.got.append(n)
        self.changed.set()


class Echo(Service):
    binary = "echo"
    topic = "echo"
    control_exchange = "pause-test"

    def __init__(self, host, url, **kwargs):
        super().__init__(host, url, **kwargs)
        self.recorder = Recorder()
        self.ticks = 0

    def endpoints(self):
        return [self.recorder]

    def on_start(self):
        self.every(0.02, self.tick, "tick")

    def tick(self):
        self.ticks += 1


@pytest.fixture
def echo(broker):
    service = Echo("host1", broker.url)
    try:
        yield service
    finally:
        service.cleanup()


def cast(url, n, server="host1"):
    transport = rpc.get_transport(url, "pause-test", service="caller")
    try:
        client = rpc.get_rpc_client(transport, rpc.Target(topic="echo", server=server))
        for i in range(n):
            client.cast({}, "note", n=i)
    finally:
        transport.cleanup()


def test_pause_needs_a_running_service_and_shows_in_repr(echo):
    with pytest.raises(CourseError, match="echo:host1 is stopped: start it before pausing"):
        echo.pause()
    assert echo.state == "stopped"
    echo.start()
    assert echo.state == "running"
    echo.pause()
    echo.pause()  # idempotent
    assert echo.state == "paused" and "paused" in repr(echo)
    echo.resume()
    echo.resume()
    assert echo.state == "running" and "running" in repr(echo)


def test_a_paused_service_takes_nothing_and_goes_on_when_resumed(broker, echo):
    """Casts to ``echo.host1`` wait (pushed to the hung consumer, unacknowledged, as
    RabbitMQ pushes them with oslo's prefetch 0); the periodic task stops; resume()
    handles them all, in order."""
    echo.start()
    assert eventually(lambda: echo.ticks > 0)
    echo.pause()
    ticks = echo.ticks
    cast(broker.url, 3)

    def waiting():
        queue = broker.topology().queues.get("echo.host1")
        return queue is not None and queue.messages == 3 and queue
    assert eventually(waiting, 20)
    assert echo.recorder.got == [] and echo.ticks in (ticks, ticks + 1)  # one may be running
    echo.resume()
    assert eventually(lambda: echo.recorder.got == [0, 1, 2])
    assert eventually(lambda: echo.ticks > ticks + 1)


def test_a_paused_service_stops(broker, echo):
    """Stopping a paused service needs no resume(): its consumers stop without taking
    what waits, which stays in the queue for the next start."""
    echo.start()
    echo.pause()
    cast(broker.url, 2)
    echo.stop()
    assert echo.state == "stopped" and echo.recorder.got == []
    assert eventually(lambda: (broker.topology().queues["echo.host1"].messages_ready == 2),
                      20)
    echo.start()
    assert eventually(lambda: sorted(echo.recorder.got) == [0, 1])


def test_report_state_stops_while_paused(broker, clouds):
    """A paused nova-compute sends no heartbeat (report_state): after service_down_time
    ``openstack compute service list`` says down; resumed, it says up again."""
    from course.openstack.nova import Timings

    timings = Timings.zero().replace(report_interval=0.1, service_down_time=1.0)
    cloud = clouds(broker.url, computes=["cmp1"], timings=timings)

    def compute_state():
        return next(row["state"] for row in cloud.service_list()
                    if row["binary"] == "nova-compute")

    compute = cloud.service("nova-compute", "cmp1")
    assert eventually(lambda: compute_state() == "up")
    compute.pause()
    assert eventually(lambda: compute_state() == "down", 10)
    compute.resume()
    assert eventually(lambda: compute_state() == "up", 10)
