"""Widgets: live state driven from Python, and readable static renderings without widgets."""

from __future__ import annotations

import kombu
import pytest
from helpers import eventually

import course
from course.widgets import ProgressBar, QueueMonitor, sparkline


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
        first = len(monitor.samples)
        kombu.Producer(queue.default_channel).publish(b"x", routing_key="compute.c1")
        # the background thread samples on its own: the new depth shows without sample()
        assert eventually(lambda: monitor.rows() and monitor.rows()[0][1] == 1)
        assert len(monitor.samples) > first


def test_static_rendering_without_a_notebook(queue):
    bundle = QueueMonitor(course.topology.snapshot).start().stop()._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert "compute.c1" in bundle["text/plain"] and "<table>" in bundle["text/html"]


def test_monitor_headers_in_french(queue, french):
    assert QueueMonitor(course.topology.snapshot).headers()[-1] == "historique"


def test_progress_bar_in_a_terminal(capsys):
    bar = ProgressBar("boot")
    for done in range(4):
        bar(done, 3)
    shown = [line.strip() for line in capsys.readouterr().err.split("\r") if line.strip()]
    assert shown[0].startswith("boot:   0%") and "0/3" in shown[0]
    assert shown[-1].startswith("boot: 100%") and "3/3" in shown[-1]
    assert bar.bar is None  # closed once everything is done
    bar(0, 2)  # a new run starts a new bar
    assert bar.bar is not None and bar.bar.total == 2
    bar.close()


def test_progress_bar_in_french(capsys, french):
    bar = ProgressBar("démarrage")
    for done in range(3):
        bar(done, 2)
    shown = [line.strip() for line in capsys.readouterr().err.split("\r") if line.strip()]
    assert shown[0].startswith("démarrage\u00a0:   0\u00a0%|") and "0/2" in shown[0]
    assert shown[-1].startswith("démarrage\u00a0: 100\u00a0%|") and "2/2" in shown[-1]
    assert shown[-1].endswith("\u00a0it/s]") and "." not in shown[-1].rpartition(",")[2]
