"""Widgets: live state driven from Python, and readable static renderings without widgets."""

from __future__ import annotations

import kombu
import pytest

import course
from course.widgets import QueueMonitor, progress, sparkline


@pytest.fixture
def queue():
    course.broker.reset()
    with course.broker.connect() as conn:
        kombu.Queue("compute.c1", channel=conn.default_channel).declare()
        yield conn
    course.broker.reset()


def test_sparkline_scales_to_the_largest_depth():
    assert sparkline([0, 4, 8]) == " ▄█"
    assert sparkline([0, 0]) == "  "


def test_monitor_follows_the_queue_depth(queue):
    monitor = QueueMonitor(course.topology.snapshot)
    widget = monitor.widget()
    monitor.sample()
    producer = kombu.Producer(queue.default_channel)
    for _n in range(3):
        producer.publish(b"x", routing_key="compute.c1")
        monitor.sample()
    assert monitor.rows() == [("compute.c1", 3, 0, 0, " ▃▅█")]
    assert "<td>3</td>" in widget.value  # the widget was updated by sample()
    assert monitor.text().splitlines()[1].split() == ["compute.c1", "3", "0", "0", "▃▅█"]


def test_monitor_runs_in_the_background(queue):
    with QueueMonitor(course.topology.snapshot, interval=0.01) as monitor:
        kombu.Producer(queue.default_channel).publish(b"x", routing_key="compute.c1")
        for _n in range(200):
            if monitor.rows() and monitor.rows()[0][1] == 1:
                break
            monitor._stop.wait(0.01)
    assert monitor.rows()[0][1] == 1


def test_static_rendering_without_a_notebook(queue):
    bundle = QueueMonitor(course.topology.snapshot).start().stop()._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert "compute.c1" in bundle["text/plain"] and "<table>" in bundle["text/html"]


def test_monitor_headers_in_french(queue):
    course.set_language("fr")
    try:
        assert QueueMonitor(course.topology.snapshot).headers()[-1] == "historique"
    finally:
        course.set_language("en")


def test_progress_in_a_terminal(capsys):
    assert list(progress(range(3), description="boot")) == [0, 1, 2]
    assert capsys.readouterr().err.endswith("boot [##############################] 3/3\n")
