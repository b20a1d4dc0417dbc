"""What lesson 09 needs of the simulated Nova: every service's ``[oslo_messaging_rabbit]``
options (quorum queues, the queue manager), a service restarted as a new process (its
old reply queue stays), and a progress bar while many computes start; on both brokers
where the broker matters."""

from __future__ import annotations

import pytest
from helpers import eventually

import course
from course.openstack.nova import NovaCloud, Timings
from course.transport_url import parse_transport_url

QUORUM = {"rabbit_quorum_queue": True, "rabbit_transient_quorum_queue": True,
          "rabbit_quorum_delivery_limit": 5}


def replies(topology):
    return {name: q.consumers for name, q in topology.queues.items()
            if name.startswith("reply_")}


def test_options_reach_every_queue_of_every_service(broker, clouds):
    cloud = clouds(broker.url, computes=["compute1"], messaging=QUORUM)
    assert cloud.boot("vm1").wait(20) == "ACTIVE"
    view = broker.topology()
    assert {q.type for q in view.queues.values()} == {"quorum"}
    assert all(q.durable for q in view.queues.values())
    assert view.queues["compute.compute1"].arguments == {"x-queue-type": "quorum",
                                                          "x-delivery-limit": 5}
    assert view.queues[next(iter(replies(view)))].arguments["x-expires"] == 1_800_000
    assert view.exchanges["nova"].durable


def test_a_restarted_compute_leaves_its_old_reply_queue_behind(broker, clouds):
    cloud = clouds(broker.url, computes=["compute1"])
    [old_reply] = replies(broker.topology())  # only the compute has called yet
    old = cloud.compute("compute1")
    new = cloud.restart("nova-compute", "compute1")
    assert new is cloud.compute("compute1") and new is not old and new.running
    assert cloud.boot("vm1").wait(20) == "ACTIVE"
    # the old process's reply queue stays, read by nobody (RabbitMQ's figures lag)
    assert eventually(lambda: replies(broker.topology()).get(old_reply) == 0, timeout=15)
    assert set(replies(broker.topology())) - {old_reply}  # the new process has its own
    fanouts = [q for q in broker.topology().queues if q.startswith("compute_fanout_")]
    assert len(fanouts) == 1  # the old one was deleted when its connection closed


def test_with_the_queue_manager_the_restarted_compute_finds_its_queues_again(url, clouds):
    cloud = clouds(url, computes=["compute1"], messaging={"use_queue_manager": True})
    names = set(course.topology.snapshot(url).queues)
    assert "reply_compute1:nova-compute:1" in names
    cloud.restart("nova-compute", "compute1")
    view = course.topology.snapshot(url)
    assert set(view.queues) == names
    assert view.queues["reply_compute1:nova-compute:1"].consumers == 1


def test_restarting_a_conductor_or_an_unknown_service(url, clouds):
    cloud = clouds(url, computes=["compute1"])
    cloud.restart("nova-conductor")
    assert cloud.boot("vm1").wait(20) == "ACTIVE"
    with pytest.raises(course.errors.CourseError, match="compute9"):
        cloud.restart("nova-compute", "compute9")


def test_many_computes_start_under_a_progress_bar(capsys):
    with course.Lab() as lab:
        lab.nova(computes=[f"compute{n}" for n in range(1, 11)], timings=Timings.zero())
        shown = capsys.readouterr().err.split("\r")
        assert "starting computes: 100%" in shown[-1] and "10/10" in shown[-1]
        lab.nova(computes=["compute11"], timings=Timings.zero())
        assert "starting" not in capsys.readouterr().err  # a few start at once


def test_the_starting_callback_counts_the_computes_of_every_cell(url):
    seen = []
    vhost = parse_transport_url(url).vhost
    urls = {cell: course.broker.add_vhost(f"{vhost}-{cell}") for cell in ("cell1", "cell2")}
    cloud = NovaCloud(url, cells={"cell1": ["compute1", "compute2"], "cell2": ["compute3"]},
                      cell_urls=urls, timings=Timings.zero(),
                      starting=lambda done, total: seen.append((done, total)))
    with cloud:
        assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
