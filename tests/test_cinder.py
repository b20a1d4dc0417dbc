"""Cinder on the bus: exchange ``openstack``, two casts per volume, capabilities fanned out.

Most cases run on the embedded broker (fast); the ``broker`` cases run on both the
embedded broker and a private RabbitMQ.
"""

from __future__ import annotations

import pytest
from helpers import (
    delivered,
    eventually,
    hop_route,
    notifications,
    receivers,
)

from course.openstack import cinder as cinder_mod
from course.openstack.cinder import CinderCloud, extract_host

#: Every test stops what it starts.
pytestmark = pytest.mark.usefixtures("stops_its_threads")


def test_extract_host():
    assert extract_host("node1@lvm#pool") == "node1@lvm"
    assert extract_host("node1@lvm#pool", "host") == "node1"
    assert extract_host("node1@lvm#pool", "pool") == "pool"
    assert extract_host("node1@lvm", "pool") is None
    assert extract_host("node1@lvm", "pool", default_pool_name=True) == "_pool0"


def test_cinder_topology_on_exchange_openstack(url):
    with CinderCloud(url, volume_hosts=["node1", "node2"], backends=["lvm"],
                     timings="zero") as cinder:
        topo = cinder.topology()
    assert cinder_mod.CONTROL_EXCHANGE == "openstack"
    assert topo.exchanges["openstack"].type == "topic"
    assert "cinder" not in topo.exchanges
    queues = topo.queues
    assert queues["cinder-volume"].consumers == 2  # both backends, round robin
    for host in ("node1", "node2"):
        # served by both RPC servers of the volume service: as T.H of the first one and
        # as T of the second one
        assert queues[f"cinder-volume.{host}@lvm"].consumers == 2
        assert queues[f"cinder-volume.{host}@lvm.{host}"].consumers == 1
        assert len([q for q in queues if q.startswith(f"cinder-volume.{host}@lvm_fanout_")]) == 1
    assert len([q for q in queues if q.startswith("cinder-volume_fanout_")]) == 2
    assert queues["cinder-scheduler"].consumers == 1
    assert queues["cinder-scheduler.controller"].consumers == 1
    assert len([q for q in queues if q.startswith("cinder-scheduler_fanout_")]) == 1
    assert topo.exchanges["cinder-scheduler_fanout"].type == "fanout"
    assert not [q for q in queues if q.startswith("cinder-api")]  # no RPC server


def test_create_volume_is_two_casts(url):
    with CinderCloud(url, volume_hosts=["node1"], backends=["lvm"], timings="zero") as cinder:
        volume = cinder.create_volume(1, name="data")
        assert volume.wait(5) == "available"
        assert volume.history == ["creating", "available"]
        assert volume.host == "node1@lvm#lvm"
        hops = delivered(cinder.trace, volume.request_id)
        assert [hop_route(h) for h in hops] == [
            ("http", "", "", "POST /v3/demo/volumes", "openstack", "cinder-api:controller"),
            ("cast", "openstack", "cinder-scheduler", "create_volume",
             "cinder-api:controller", "cinder-scheduler:controller"),
            ("cast", "openstack", "cinder-volume.node1@lvm.node1", "create_volume",
             "cinder-scheduler:controller", "cinder-volume:node1@lvm"),
        ]
        assert hops[2].queue == "cinder-volume.node1@lvm.node1"
        assert hops[2].body["args"]["volume"]["host"] == "node1@lvm#lvm"
        assert not [h for h in cinder.trace.hops if h.kind in ("call", "reply")]


def test_volume_types_pick_the_backend_and_the_scheduler_can_fail(url):
    with CinderCloud(url, volume_hosts=["node1"], backends=["lvm", "ceph"], capacity_gb=10,
                     timings="zero", notifications=True) as cinder:
        volume = cinder.create_volume(2, volume_type="ceph")
        assert volume.wait(5) == "available" and volume.host == "node1@ceph#ceph"
        keys = [h.routing_key for h in cinder.trace.for_request(volume.request_id).hops
                if h.kind == "cast"]
        assert keys == ["cinder-scheduler", "cinder-volume.node1@ceph.node1"]
        too_big = cinder.create_volume(50)
        assert too_big.wait(5) == "error"
        assert too_big.history == ["creating", "error"]
        def errors():
            return [e for e in notifications(cinder.trace) if e[2] == "scheduler.create_volume"]

        assert eventually(errors)  # sent just after the status is saved
        assert errors() == [("openstack", "notifications.error", "scheduler.create_volume",
                           "scheduler.controller")]
        with pytest.raises(cinder_mod.NotFound, match="gold"):
            cinder.create_volume(1, volume_type="gold")


def test_a_stopped_volume_service_keeps_its_casts_waiting(url):
    with CinderCloud(url, volume_hosts=["node1"], backends=["lvm"], timings="zero") as cinder:
        service = cinder.service("cinder-volume", "node1@lvm")
        service.stop()
        volume = cinder.create_volume(1)
        queue = "cinder-volume.node1@lvm.node1"
        assert eventually(lambda: cinder.topology().queues[queue].messages == 1)
        assert volume.status == "creating"
        assert cinder.topology().queues[queue].consumers == 0
        service.start()
        assert volume.wait(5) == "available"


def test_capabilities_fan_out_to_the_scheduler(url):
    timings = {"capabilities_interval": 0.05, "create_volume": 0}
    with CinderCloud(url, volume_hosts=["node1", "node2"], backends=["lvm"],
                     timings=timings) as cinder:
        scheduler = cinder.scheduler
        assert eventually(lambda: len(scheduler.received_from) >= 8)
        assert eventually(lambda: receivers(cinder.trace, "publish_service_capabilities") == [
            "cinder-volume:node1@lvm", "cinder-volume:node2@lvm"])
        hops = delivered(cinder.trace)
        asked = [h for h in hops if h.method == "publish_service_capabilities"]
        assert {(h.kind, h.exchange, h.routing_key, h.sender) for h in asked} == {
            ("fanout", "cinder-volume_fanout", "", "cinder-scheduler:controller")}
        updates = [h for h in hops if h.method == "update_service_capabilities"]
        assert {(h.kind, h.exchange, h.routing_key, h.receiver) for h in updates} == {
            ("fanout", "cinder-scheduler_fanout", "", "cinder-scheduler:controller")}
        assert {h.sender for h in updates} == {"cinder-volume:node1@lvm",
                                               "cinder-volume:node2@lvm"}
        assert len(updates) >= 6  # periodic, not only when asked
        body = updates[0].body
        assert body["version"] == "3.3"
        assert body["args"]["capabilities"]["volume_backend_name"] == "lvm"
        # a call, for once: the scheduler's get_pools
        pools = cinder.api.scheduler_rpcapi.prepare(timeout=5).call({}, "get_pools")
        assert sorted(p["name"] for p in pools) == ["node1@lvm#lvm", "node2@lvm#lvm"]


def test_cinder_notifications(url):
    with CinderCloud(url, volume_hosts=["node1"], backends=["lvm"], timings="zero",
                     notifications=True) as cinder:
        volume = cinder.create_volume(1)
        volume.wait(5)
        assert eventually(lambda: len(notifications(cinder.trace)) == 2)
        assert notifications(cinder.trace) == [
            ("openstack", "notifications.info", "volume.create.start", "volume.node1@lvm#lvm"),
            ("openstack", "notifications.info", "volume.create.end", "volume.node1@lvm#lvm")]
        payload = [h.body["payload"] for h in cinder.trace.hops if h.kind == "notify"][-1]
        assert payload["status"] == "available" and payload["volume_id"] == volume.id


# --------------------------------------------------------------------------- both brokers


def test_cinder_on_both_brokers(broker):
    with CinderCloud(broker.url, volume_hosts=["node1"], backends=["lvm"],
                     timings="zero") as cinder:
        volume = cinder.create_volume(1)
        assert volume.wait(10) == "available"
        hops = delivered(cinder.trace, volume.request_id)
        assert [(h.kind, h.exchange, h.routing_key, h.receiver) for h in hops[1:]] == [
            ("cast", "openstack", "cinder-scheduler", "cinder-scheduler:controller"),
            ("cast", "openstack", "cinder-volume.node1@lvm.node1", "cinder-volume:node1@lvm")]
        topo = broker.topology()
        assert topo.exchanges["openstack"].type == "topic"
        assert topo.queues["cinder-volume.node1@lvm.node1"].consumers == 1
        assert topo.queues["cinder-volume.node1@lvm"].consumers == 2


