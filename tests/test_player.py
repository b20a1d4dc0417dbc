"""The player: a real boot stepped through hop by hop, driven from Python and by its widgets."""

from __future__ import annotations

import html

import pytest
from helpers import eventually

import course
from course import display, rpc
from course.diagrams import HIGHLIGHT
from course.openstack.nova import Timings
from course.player import Player
from course.topology import Binding, Exchange, Queue, Topology
from course.trace import Trace
from course.wire import mask


@pytest.fixture
def booted():
    """A lab with one compute and one ACTIVE VM; always stopped."""
    lab = course.Lab()
    try:
        cloud = lab.nova(computes=["compute1"], timings=Timings.zero())
        vm = cloud.boot("vm1")
        assert vm.wait(timeout=10) == "ACTIVE"
        yield lab, cloud, vm
    finally:
        lab.stop()


def number_of(player, kind, method):
    return next(h.number for h in player.hops if (h.kind, h.method) == (kind, method))


def test_steps_move_the_slider_and_the_panels(booted):
    lab, _cloud, vm = booted
    player = lab.trace.for_request(vm.request_id).player()
    assert isinstance(player, Player) and player.step == 1
    widget = player.widget()
    assert widget is player.widget() and widget.slider.value == 1
    assert (widget.slider.min, widget.slider.max) == (1, len(player))
    controls = widget.children[0]
    assert controls.children == (widget.play, widget.back, widget.slider, widget.forward)
    assert widget.children[1:] == (widget.caption, widget.diagram, widget.panels)

    call = number_of(player, "call", "select_destinations")
    player.go(call)
    assert player.step == call and widget.slider.value == call and widget.play.value == call
    panels = widget.panels.value
    assert "select_destinations" in panels and "<td><code>scheduler</code></td>" in panels
    assert "<svg" in widget.diagram.value and HIGHLIGHT in widget.diagram.value
    assert f"#{call}" in widget.diagram.value  # the path is numbered like the hop
    assert "select_destinations" in widget.caption.value

    player.next()
    assert player.step == call + 1 and widget.slider.value == call + 1
    player.previous()
    assert widget.slider.value == call and "select_destinations" in widget.panels.value

    widget.slider.value = 3  # what the Play widget does, through jslink
    assert player.step == 3 and player.hop.method == "schedule_and_build_instances"
    assert "schedule_and_build_instances" in widget.panels.value
    widget.forward.click()
    assert player.step == 4 == widget.slider.value
    widget.back.click()
    widget.back.click()
    assert player.step == 2 and player.caption() in html.unescape(widget.caption.value)

    player.step = -1
    assert player.step == len(player) and player.next().step == len(player)
    assert player.go(0).step == 1 and player.previous().step == 1


def test_only_one_request_and_no_http(booted):
    lab, _cloud, vm = booted
    player = lab.trace.player(request_id=vm.request_id, http=False)
    assert [h.number for h in player.hops] == list(range(1, len(player) + 1))
    assert all(h.kind != "http" and h.request_id == vm.request_id for h in player.hops)
    assert (player.hop.kind, player.hop.method) == ("cast", "schedule_and_build_instances")
    same = lab.trace.for_request(vm.request_id).player(http=False)
    assert [h.unique_id for h in same.hops] == [h.unique_id for h in player.hops]


def test_depths_follow_the_messages(booted):
    lab, cloud, vm = booted
    cloud.service("nova-compute", "compute1").stop()
    vm.stop()
    assert eventually(lambda: any(h.method == "stop_instance" for h in lab.trace.hops))
    player = lab.trace.player(http=False, start=-1)
    assert (player.hop.method, player.hop.queue) == ("stop_instance", "")
    assert player.depths()["compute.compute1"] == 1
    assert player.message()["route"]["queue"] == "waiting in compute.compute1"
    assert player.message()["route"]["to"] == "(nobody yet)"
    drawn = next(line for line in player.diagram().ascii().splitlines()
                 if "─▶ compute.compute1 " in line)
    assert "[ready 1 | unacked 0 | consumers 0]" in drawn  # the diagram of that moment
    # The boot's cast was in compute.compute1 at its own step, and gone at the next one.
    cast = number_of(player, "cast", "build_and_run_instance")
    assert player.depths(cast)["compute.compute1"] == 1
    assert player.depths(cast + 1)["compute.compute1"] == 0
    assert "compute.compute1" in player.depths(1)


def test_secrets_are_masked():
    with course.Lab() as lab:
        transport = rpc.get_transport(lab.url, "nova", service="me:laptop", trace=lab.trace)
        try:
            context = {"request_id": "req-secret", "auth_token": "tok-SECRET-1",
                       "user_id": "u1", "user_name": "alice", "project_id": "p1",
                       "roles": ["admin", "member"], "password": "pw-SECRET-2",
                       "service_catalog": [{"type": "compute"}], "timestamp": "now"}
            rpc.get_rpc_client(transport, rpc.Target(topic="nowhere")).cast(
                context, "configure", transport_url="rabbit://nova:SECRET-3@ctl:5672/nova",
                admin_password="SECRET-4", options={"db_secret": "SECRET-5", "size": 3})
        finally:
            transport.cleanup()
        player = lab.trace.for_request("req-secret").player()
    decoded = player.message()
    args = decoded["message"]["args"]
    assert args["transport_url"] == "rabbit://nova:****@ctl:5672/nova"
    assert args["admin_password"] == "****" and args["options"] == {"db_secret": "****",
                                                                     "size": 3}
    assert decoded["message"]["method"] == "configure" and "_unique_id" in decoded["message"]
    assert decoded["context"] == {"request_id": "req-secret", "user": "alice (u1)",
                                  "project": "p1", "roles": "admin, member",
                                  "auth_token": "****", "…": "3 other keys"}
    assert decoded["route"]["queue"] == "(routed to no queue)"
    for rendering in (player.text(), player.html()):
        assert "SECRET" not in rendering and "rabbit://nova:****@ctl" in rendering
    assert mask({"token": "", "x": ["amqp://a:b@h/"]}) == {"token": "", "x": ["amqp://a:****@h/"]}


def test_static_rendering_outside_a_notebook(booted, monkeypatch):
    lab, _cloud, vm = booted
    player = lab.trace.for_request(vm.request_id).player(start=3)
    bundle = player._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert str(player) == bundle["text/plain"] == player.text()
    lines = bundle["text/plain"].splitlines()
    assert lines[0].startswith("Step 3 of ") and "schedule_and_build_instances" in lines[0]
    marked = [line for line in lines if line.startswith("▶ ")]
    assert len(marked) == 1 and marked[0].split()[1:3] == ["3", "cast"]
    assert "Message of step 3:" in lines and "Context (summary):" in lines
    assert "Queue depths (ready messages) at this step:" in lines
    assert '"method": "schedule_and_build_instances"' in bundle["text/plain"]
    assert "gAAAA" not in bundle["text/plain"]  # the request's keystone token
    page = bundle["text/html"]
    assert page.count("background:#fff3c4") >= 2  # the current row, and its queue
    assert "<svg" in page and "schedule_and_build_instances" in page
    assert repr(player) == f"<Player: step 3 of {len(player)}>"
    first = player.go(1).text()  # the user's HTTP request: no envelope, no broker
    assert "HTTP, not through the broker" in first and "POST /v2.1/servers" in first

    monkeypatch.setattr(display, "in_notebook", lambda: True)
    bundle = player._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == player.text()


def test_french_labels(booted, french):
    lab, _cloud, vm = booted
    player = lab.trace.for_request(vm.request_id).player(start=3)
    text = player.text()
    assert text.startswith("Étape 3 sur ")
    assert "Message de l’étape 3\u00a0:" in text and "Contexte (résumé)\u00a0:" in text
    widget = player.widget()
    assert widget.back.description == "◀ Étape précédente"
    assert widget.forward.description == "Étape suivante ▶"
    assert widget.slider.description == "Étape"
    assert "Profondeur des files à cette étape" in widget.panels.value


def test_without_dot_the_player_shows_the_text_diagram(booted, monkeypatch, tmp_path):
    lab, _cloud, vm = booted
    player = lab.trace.for_request(vm.request_id).player()
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere
    widget = player.widget()
    player.go(number_of(player, "call", "select_destinations"))
    shown = widget.diagram.value
    assert "<svg" not in shown and "apt-get install graphviz" in shown
    assert "X nova (topic)" in shown and "◀ #" in shown
    assert "apt-get install graphviz" in player.html() and "<svg" not in player.html()
    assert "select_destinations" in player.text()


def test_an_empty_flow():
    player = Player(Trace())
    assert player.step == 0 and player.hop is None and len(player) == 0
    assert player.next().step == 0 and player.previous().step == 0
    assert str(player) == "No message in this trace yet."
    assert "No message" in player.html()
    widget = player.widget()
    assert widget.children == (widget.caption,) and widget.slider is None
    assert "No message" in widget.caption.value


def test_routing_of_messages_nobody_took():
    topology = Topology(
        exchanges={"nova": Exchange("nova", "topic"), "d": Exchange("d", "direct"),
                   "f": Exchange("f", "fanout")},
        queues={n: Queue(n) for n in ("compute.c1", "all", "a", "b", "reply_1")},
        bindings=(Binding("nova", "compute.c1", "compute.c1"), Binding("nova", "all", "#"),
                  Binding("d", "a", "k"), Binding("f", "a", "x"), Binding("f", "b", "")))
    route = topology.route
    assert route("nova", "compute.c1") == ["all", "compute.c1"]
    assert route("nova", "compute.c2") == ["all"]
    assert route("d", "k") == ["a"] and route("d", "z") == []
    assert route("f", "anything") == ["a", "b"]
    assert route("", "reply_1") == ["reply_1"]
    assert route("", "reply_2") == []
