"""Keystone on the bus: notifications on exchange ``keystone``, never RPC.

Most cases run on the embedded broker (fast); the ``broker`` cases run on both the
embedded broker and a private RabbitMQ.
"""

from __future__ import annotations

import pytest
from helpers import eventually, notifications

import course
from course import rpc
from course.openstack import keystone as keystone_mod
from course.openstack.keystone import Keystone

#: Every test stops what it starts.
pytestmark = pytest.mark.usefixtures("stops_its_threads")


def test_keystone_sends_identity_notifications_and_nothing_else(url):
    with Keystone(url) as keystone:
        project = keystone.create_project("demo")
        user = keystone.create_user("alice", "pw", project["id"])
        keystone.update_project(project["id"], description="x")
        keystone.update_project(project["id"], enabled=False)
        keystone.delete_user(user["id"])
        keystone.delete_project(project["id"])
        events = notifications(keystone.trace)
        assert [e[2] for e in events] == [
            "identity.project.created", "identity.user.created", "identity.project.updated",
            "identity.project.updated", "identity.user.deleted", "identity.project.deleted"]
        assert {(e[0], e[1], e[3]) for e in events} == {
            ("keystone", "notifications.info", "identity.controller")}
        assert keystone.internal_events == [("identity.project.disabled", project["id"])]
        payload = [h.body["payload"] for h in keystone.trace.hops if h.kind == "notify"][0]
        assert payload["typeURI"] == "http://schemas.dmtf.org/cloud/audit/1.0/event"
        assert payload["action"] == "created.project"
        assert payload["outcome"] == "success"
        assert payload["target"] == {"typeURI": "data/security/project", "id": project["id"]}
        assert payload["resource_info"] == project["id"]
        # HTTP in, notifications out: no RPC at all
        assert {h.kind for h in keystone.trace.hops} == {"http", "notify"}
        topo = keystone.topology()
        assert set(topo.exchanges) == {"keystone"}
        assert set(topo.queues) == {"notifications.info"}
        assert topo.queues["notifications.info"].messages == 6


def test_keystone_authentication_and_opt_out(url):
    with Keystone(url, host="ctl1") as keystone:
        assert keystone.authenticate("admin", "secret").ok
        failed = keystone.authenticate("admin", "wrong")
        assert (failed.ok, failed.outcome, failed.token) == (False, "failure", None)
        sent = [h.body for h in keystone.trace.hops if h.kind == "notify"]
        # default opt-out: success and pending are suppressed; failure is sent
        assert [(b["event_type"], b["payload"]["outcome"]) for b in sent] == [
            ("identity.authenticate", "failure")]
        assert sent[0]["publisher_id"] == "identity.ctl1"
        assert sent[0]["payload"]["action"] == "authenticate"
    # keystone/conf/default.py: notification_opt_out default on master; keystone 24.0.0
    # removed "identity.authenticate.failed" (commit 0b46eab1, bug 1954665)
    assert keystone.notification_opt_out == ("identity.authenticate.success",
                                             "identity.authenticate.pending")
    with Keystone(url, notification_opt_out=(), notification_format="basic") as keystone:
        keystone.authenticate("admin", "secret")
        project = keystone.create_project("demo")
        sent = [h.body for h in keystone.trace.hops if h.kind == "notify"]
        assert [(b["event_type"], b["payload"].get("outcome")) for b in sent] == [
            ("identity.authenticate", "success"), ("identity.project.created", None)]
        assert sent[1]["payload"] == {"resource_info": project["id"]}
    with Keystone(url, notification_opt_out=["identity.project.created"]) as keystone:
        keystone.create_project("quiet")
        assert not notifications(keystone.trace)


def test_keystone_with_the_noop_driver_touches_no_broker(url):
    with Keystone(url, driver="noop") as keystone:
        keystone.create_project("demo")
        keystone.authenticate("admin", "wrong")
        assert {h.kind for h in keystone.trace.hops} == {"http"}
        topo = keystone.topology()
        assert not topo.queues and not topo.exchanges
        keystone.service("keystone", keystone.host).stop()
        with pytest.raises(keystone_mod.KeystoneUnavailable):
            keystone.create_project("late")
        with pytest.raises(course.errors.CourseError):
            keystone.notify("project", "exploded", "x")


def test_messages_are_translated(url, french):
    with Keystone(url) as keystone:
        keystone.service("keystone").stop()
        with pytest.raises(keystone_mod.KeystoneUnavailable, match="arrêté"):
            keystone.create_project("late")
        with pytest.raises(keystone_mod.NotFound, match="Aucun service"):
            keystone.service("nova-api", "x")


# --------------------------------------------------------------------------- both brokers


def test_keystone_on_both_brokers(broker):
    with Keystone(broker.url) as keystone:
        keystone.create_project("demo")
        keystone.authenticate("admin", "secret")  # opted out
        keystone.authenticate("admin", "wrong")
        # a publish is asynchronous: RabbitMQ may count it a moment later
        assert eventually(lambda: broker.topology().queues["notifications.info"].messages == 2)
        topo = broker.topology()
        assert topo.exchanges["keystone"].type == "topic"
        assert topo.queues["notifications.info"].consumers == 0
        listener_got = []

        class Endpoint:
            def info(self, ctxt, publisher_id, event_type, payload, metadata):
                listener_got.append((publisher_id, event_type))

        transport = rpc.get_transport(broker.url, "keystone", service="ceilometer:ctl")
        listener = rpc.get_notification_listener(
            transport, [rpc.Target(topic="notifications")], [Endpoint()])
        listener.start()
        try:
            assert eventually(lambda: len(listener_got) == 2, 10)
        finally:
            listener.stop()
            transport.cleanup()
        assert listener_got == [("identity.controller", "identity.project.created"),
                                ("identity.controller", "identity.authenticate")]
