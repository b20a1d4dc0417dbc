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
from course.trace import Trace

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


#: Heartbeats of 2 s (a lab's setting) and oslo's fastest reconnection.
HEARTBEATS = {"heartbeat_timeout_threshold": 2, "rabbit_retry_interval": 1,
              "rabbit_retry_backoff": 0, "kombu_reconnect_delay": 0}


def ready(broker, name):
    """Ready messages in ``name`` now: a passive declare, live on both brokers."""
    conn = broker.connect()
    try:
        return conn.channel().queue_declare(name, passive=True).message_count
    finally:
        conn.close()


def cast(url, n, server="host1", trace=None):
    transport = rpc.get_transport(url, "pause-test", service="caller", trace=trace)
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


def test_the_broker_closes_a_paused_service_and_resume_reconnects(broker):
    """Paused past its heartbeat timeout, the service's connections are closed by the broker
    (RabbitMQ and the embedded broker alike): the casts pushed to it, never read so never
    acked, go back to ``echo.host1`` flagged redelivered.  Resumed, it finds its connection
    gone, reconnects, declares its queues again and handles each cast once."""
    trace = Trace()
    echo = Echo("host1", broker.url, trace=trace, options=HEARTBEATS)
    try:
        echo.start()
        echo.pause()
        cast(broker.url, 3, trace=trace)
        assert eventually(lambda: ready(broker, "echo.host1") == 3, 30)  # requeued
        assert echo.state == "paused" and echo.recorder.got == []
        echo.resume()
        assert eventually(lambda: echo.recorder.got == [0, 1, 2], 30)
        delivered = [e for e in trace.events if e.action == "deliver" and e.kind == "cast"]
        assert len(delivered) == 3 and all(e.redelivered for e in delivered)
        assert trace.outcomes()["redelivered"] == 3
        lines = trace.connections()
        assert "echo on host1: reconnected to the broker" in lines
        lost = [line for line in lines if "reconnected" not in line]
        assert lost
        if broker.kind == "embedded":
            assert lost[0] == ("echo on host1: connection closed by the broker: missed "
                               "heartbeats from client, timeout: 2s")
        else:  # RabbitMQ logs its reason; its client only sees the reset
            assert lost[0].startswith("echo on host1: connection lost: ")
    finally:
        echo.cleanup()


def test_no_heartbeat_no_close(broker):
    """A service that asked for no heartbeat (0) is never closed for its silence: paused
    while another one (2 s) is closed, it still holds what it was sent."""
    silent = Echo("host1", broker.url, options=HEARTBEATS)
    without = Echo("host2", broker.url, options={**HEARTBEATS,
                                                 "heartbeat_timeout_threshold": 0})
    try:
        silent.start()
        without.start()
        silent.pause()
        without.pause()
        cast(broker.url, 1, "host1")
        cast(broker.url, 1, "host2")
        assert eventually(lambda: ready(broker, "echo.host1") == 1, 30)
        assert ready(broker, "echo.host2") == 0  # still pushed to its open connection
        without.resume()
        assert eventually(lambda: without.recorder.got == [0])
    finally:
        silent.cleanup()
        without.cleanup()


def test_connection_lines_in_french(french):
    trace = Trace()
    trace.record("disconnect", "connection", "nova-compute:compute1",
                 detail="broker:missed heartbeats from client, timeout: 2s")
    trace.record("reconnect", "connection", "nova-compute:compute1")
    assert trace.connections() == [
        "nova-compute sur compute1\u00a0: connexion fermée par le courtier\u00a0: missed "
        "heartbeats from client, timeout: 2s",
        "nova-compute sur compute1\u00a0: reconnecté au courtier"]
