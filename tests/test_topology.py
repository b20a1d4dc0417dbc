"""course.topology: one model of a broker's topology, read from the embedded broker or RabbitMQ."""

from __future__ import annotations

import time
import uuid
from functools import partial
from types import SimpleNamespace
from urllib.parse import quote

import kombu
import pytest
from helpers import eventually

from course import broker, embedded, i18n
from course.errors import BrokerUnreachable
from course.rabbitmq import RabbitMQNode, free_port
from course.topology import (
    Binding,
    Exchange,
    ManagementAPIError,
    Queue,
    Topology,
    UnknownColumn,
    _live_counts,
    _ManagementAPI,
    parse,
    snapshot,
)
from course.transport_url import parse_transport_url

#: What oslo.messaging declares for one compute service, plus RabbitMQ's built-ins,
#: shaped like the management API's JSON and deliberately out of order.
RECORDS = {
    "exchanges": [
        {"name": "nova", "vhost": "/", "type": "topic", "durable": False,
         "auto_delete": False, "internal": False, "arguments": {}},
        {"name": "", "vhost": "/", "type": "direct", "durable": True,
         "auto_delete": False, "internal": False, "arguments": {}},
        {"name": "amq.topic", "vhost": "/", "type": "topic", "durable": True,
         "auto_delete": False, "internal": False, "arguments": {}},
        {"name": "amq.direct", "vhost": "/", "type": "direct", "durable": True,
         "auto_delete": False, "internal": False, "arguments": {}},
        {"name": "compute_fanout", "vhost": "/", "type": "fanout", "durable": False,
         "auto_delete": True, "internal": False, "arguments": {}},
    ],
    "queues": [
        {"name": "compute_fanout_ab12", "vhost": "/", "durable": False, "auto_delete": False,
         "exclusive": False, "arguments": {"x-expires": 1800000}, "messages_ready": 0,
         "messages_unacknowledged": 0, "consumers": 1},
        {"name": "compute", "vhost": "/", "durable": False, "auto_delete": False,
         "exclusive": False, "arguments": {}, "messages_ready": 12000,
         "messages_unacknowledged": 3, "consumers": 0},
        # Just declared: the management API has no statistics for it yet.
        {"name": "compute.node1", "vhost": "/", "durable": False, "auto_delete": False,
         "exclusive": False, "arguments": {}},
    ],
    "bindings": [
        {"source": "nova", "vhost": "/", "destination": "compute.node1",
         "destination_type": "queue", "routing_key": "compute.node1", "arguments": {}},
        {"source": "", "vhost": "/", "destination": "compute", "destination_type": "queue",
         "routing_key": "compute", "arguments": {}},
        {"source": "", "vhost": "/", "destination": "compute.node1",
         "destination_type": "queue", "routing_key": "compute.node1", "arguments": {}},
        {"source": "", "vhost": "/", "destination": "compute_fanout_ab12",
         "destination_type": "queue", "routing_key": "compute_fanout_ab12", "arguments": {}},
        {"source": "nova", "vhost": "/", "destination": "compute", "destination_type": "queue",
         "routing_key": "compute", "arguments": {}},
        {"source": "compute_fanout", "vhost": "/", "destination": "compute_fanout_ab12",
         "destination_type": "queue", "routing_key": "compute", "arguments": {}},
        {"source": "amq.topic", "vhost": "/", "destination": "compute",
         "destination_type": "queue", "routing_key": "#", "arguments": {}},
        # Ignored: exchange-to-exchange, and a queue deleted between two reads.
        {"source": "nova", "vhost": "/", "destination": "compute_fanout",
         "destination_type": "exchange", "routing_key": "x", "arguments": {}},
        {"source": "nova", "vhost": "/", "destination": "gone", "destination_type": "queue",
         "routing_key": "gone", "arguments": {}},
    ],
}


# -- the parser, from records built by hand ------------------------------------------


def test_builtins_are_hidden_but_a_bound_amq_exchange_stays() -> None:
    top = parse(RECORDS)
    assert list(top.exchanges) == ["amq.topic", "compute_fanout", "nova"]
    assert list(top.queues) == ["compute", "compute.node1", "compute_fanout_ab12"]
    assert top.bindings == (
        Binding("amq.topic", "compute", "#"),
        Binding("compute_fanout", "compute_fanout_ab12", "compute"),
        Binding("nova", "compute", "compute"),
        Binding("nova", "compute.node1", "compute.node1"),
    )


def test_include_builtin_keeps_default_exchange_and_its_bindings() -> None:
    top = parse(RECORDS, include_builtin=True)
    assert list(top.exchanges) == ["", "amq.direct", "amq.topic", "compute_fanout", "nova"]
    assert top.exchanges[""] == Exchange("", "direct", durable=True)
    assert Binding("", "compute", "compute") in top.bindings
    assert len(top.bindings) == 7


def test_records_become_typed_values() -> None:
    top = parse(RECORDS)
    assert top.exchanges["compute_fanout"] == Exchange("compute_fanout", "fanout", False, True)
    compute = top.queues["compute"]
    assert (compute.messages_ready, compute.messages_unacknowledged, compute.messages,
            compute.consumers) == (12000, 3, 12003, 0)
    assert top.queues["compute_fanout_ab12"].arguments == {"x-expires": 1800000}
    assert top.queues["compute.node1"] == Queue("compute.node1")


def test_equality_ignores_vhost_and_source_but_not_counts() -> None:
    a = parse(RECORDS, vhost="/", source="embedded")
    b = parse({k: list(reversed(v)) for k, v in RECORDS.items()}, vhost="/nova",
              source="rabbit://guest:****@127.0.0.1:5672/")
    assert a == b and hash(a) == hash(b)
    assert a.diff(b) == []
    queues = [dict(q, consumers=2) if q["name"] == "compute" else q for q in RECORDS["queues"]]
    assert a != parse({**RECORDS, "queues": queues})
    assert parse(RECORDS) != parse(RECORDS, include_builtin=True)


def test_values_are_hashable_and_bindings_sort() -> None:
    top = parse(RECORDS)
    assert len({*top.exchanges.values(), *top.queues.values(), top}) == 7
    shuffled = Topology(top.exchanges, top.queues, tuple(reversed(top.bindings)))
    assert shuffled.bindings == top.bindings
    assert sorted([Binding("b", "q"), Binding("a", "z", "k"), Binding("a", "q", "k")]) == [
        Binding("a", "q", "k"), Binding("a", "z", "k"), Binding("b", "q")]


def test_repr_is_short_and_says_where_from() -> None:
    top = parse(RECORDS, vhost="/nova", source="embedded")
    assert repr(top) == ("Topology(vhost='/nova', source='embedded', exchanges=3, queues=3, "
                         "bindings=4)")


def test_queue_table_like_rabbitmqctl_list_queues() -> None:
    top = parse(RECORDS)
    assert str(top) == top.table() == (
        "name                 messages  consumers\n"
        "compute                 12003          0\n"
        "compute.node1               0          0\n"
        "compute_fanout_ab12         0          1"
    )
    assert top.table("name messages_ready messages_unacknowledged durable auto_delete "
                     "exclusive arguments type") == (
        "name                 messages_ready  messages_unacknowledged  durable  auto_delete"
        "  exclusive  arguments                type\n"
        "compute                       12000                        3  false    false"
        "        false      []                       classic\n"
        "compute.node1                     0                        0  false    false"
        "        false      []                       classic\n"
        "compute_fanout_ab12               0                        0  false    false"
        "        false      [{\"x-expires\",1800000}]  classic"
    )


def test_exchange_and_binding_tables() -> None:
    top = parse(RECORDS, include_builtin=True)
    assert top.exchanges_table() == (
        "name            type\n"
        "(AMQP default)  direct\n"
        "amq.direct      direct\n"
        "amq.topic       topic\n"
        "compute_fanout  fanout\n"
        "nova            topic"
    )
    assert parse(RECORDS).exchanges_table(("name", "durable", "auto_delete")) == (
        "name            durable  auto_delete\n"
        "amq.topic       true     false\n"
        "compute_fanout  false    true\n"
        "nova            false    false"
    )
    assert top.bindings_table() == (
        "source_name     destination_name     routing_key\n"
        "(AMQP default)  compute              compute\n"
        "(AMQP default)  compute.node1        compute.node1\n"
        "(AMQP default)  compute_fanout_ab12  compute_fanout_ab12\n"
        "amq.topic       compute              #\n"
        "compute_fanout  compute_fanout_ab12  compute\n"
        "nova            compute              compute\n"
        "nova            compute.node1        compute.node1"
    )
    assert parse(RECORDS).bindings_table(("routing_key", "destination_name")).splitlines()[:2] == [
        "routing_key    destination_name", "#              compute"]


def test_empty_topology_prints_its_header() -> None:
    assert Topology().table() == "name  messages  consumers"


def test_unknown_column_is_a_clear_error(french: None) -> None:
    with pytest.raises(UnknownColumn) as caught:
        parse(RECORDS).table(("name", "size"))
    assert str(caught.value).startswith(
        "Colonne inconnue\u00a0: size\u202f; choisissez parmi\u00a0: name, messages, ")
    assert isinstance(caught.value, ValueError)


def test_diff_says_what_changed() -> None:
    before = parse(RECORDS)
    queues = [dict(q, messages_ready=5) if q["name"] == "compute" else q
              for q in RECORDS["queues"] if q["name"] != "compute.node1"]
    exchanges = [*RECORDS["exchanges"], {"name": "neutron", "type": "topic"}]
    after = parse({"exchanges": exchanges, "queues": queues, "bindings": RECORDS["bindings"]})
    assert before.diff(after) == [
        "Exchange neutron added (topic).",
        "Queue compute: messages_ready 12000 → 5.",
        "Queue compute.node1 removed.",
        'Binding nova → compute.node1 (routing key "compute.node1") removed.',
    ]
    assert after.diff(before)[0] == "Exchange neutron removed."


def test_diff_in_french(french: None) -> None:
    before = parse(RECORDS, include_builtin=True)
    after = parse({**RECORDS, "bindings": [], "queues": [
        dict(q, arguments={}) if q["name"] == "compute_fanout_ab12" else q
        for q in RECORDS["queues"]]}, include_builtin=True)
    changes = before.diff(after)
    assert changes[0] == ('File compute_fanout_ab12\u00a0: arguments [{"x-expires",1800000}] '
                          "→ [].")
    assert changes[1] == ('Liaison (AMQP par défaut) → compute (clé de routage "compute") '
                          "supprimée.")


# -- the embedded broker -----------------------------------------------------------------


@pytest.fixture
def embedded_vhost() -> str:
    name = f"topology-{uuid.uuid4().hex[:8]}"
    embedded.BROKER.add_vhost(name)
    yield name
    with embedded.BROKER.lock:
        embedded.BROKER.vhosts.pop(name, None)


def _declare_lesson_topology(conn: kombu.Connection) -> None:
    """The same declarations on either broker: what one compute service and a caller leave."""
    channel = conn.channel()
    channel.exchange_declare("nova", "topic", durable=False, auto_delete=False)
    channel.exchange_declare("compute_fanout", "fanout", durable=False, auto_delete=True)
    channel.queue_declare("compute", durable=False, auto_delete=False)
    channel.queue_declare("compute.node1", durable=False, auto_delete=False)
    channel.queue_declare("compute_fanout_ab12", durable=False, auto_delete=False,
                          arguments={"x-expires": 1800000})
    channel.queue_declare("notifications.info", durable=True, auto_delete=False)
    channel.queue_bind("compute", "nova", "compute")
    channel.queue_bind("compute.node1", "nova", "compute.node1")
    channel.queue_bind("compute_fanout_ab12", "compute_fanout", "compute")
    producer = kombu.Producer(channel)
    for key, count in (("compute", 3), ("compute.node1", 2)):
        for i in range(count):
            producer.publish({"n": i}, exchange="nova", routing_key=key)
    producer.publish({"n": 0}, exchange="compute_fanout", routing_key="compute")


def _take_without_ack(conn: kombu.Connection) -> None:
    """One message fetched but not acknowledged on ``compute``; a consumer on ``compute.node1``."""
    assert conn.channel().basic_get("compute", no_ack=False) is not None
    channel = conn.channel()
    channel.basic_qos(0, 1, False)
    channel.basic_consume("compute.node1", no_ack=False, callback=lambda message: None)


EXPECTED = Topology(
    exchanges={"nova": Exchange("nova", "topic"),
               "compute_fanout": Exchange("compute_fanout", "fanout", auto_delete=True)},
    queues={"compute": Queue("compute", messages_ready=2, messages_unacknowledged=1),
            "compute.node1": Queue("compute.node1", 1, 1, consumers=1),
            "compute_fanout_ab12": Queue("compute_fanout_ab12", 1,
                                         arguments={"x-expires": 1800000}),
            "notifications.info": Queue("notifications.info", durable=True)},
    bindings=(Binding("nova", "compute", "compute"),
              Binding("nova", "compute.node1", "compute.node1"),
              Binding("compute_fanout", "compute_fanout_ab12", "compute")),
)


def test_embedded_snapshot(embedded_vhost: str) -> None:
    url = f"embedded:///{embedded_vhost}"
    with broker.connect(url) as conn:
        _declare_lesson_topology(conn)
        _take_without_ack(conn)
        top = snapshot(url)
        assert top == EXPECTED, top.diff(EXPECTED)
        assert (top.vhost, top.source) == (embedded_vhost, "embedded")
        full = snapshot(url, include_builtin=True)
        assert {"", "amq.direct", "amq.fanout", "amq.topic"} <= full.exchanges.keys()
        assert Binding("", "notifications.info", "notifications.info") in full.bindings
    assert snapshot(url).queues["compute"].messages == 3  # closed: the unacked one is back


def test_embedded_is_the_default(monkeypatch: pytest.MonkeyPatch, embedded_vhost: str) -> None:
    monkeypatch.delenv("COURSE_TRANSPORT_URL", raising=False)
    with broker.connect("embedded://") as conn:
        conn.channel().queue_declare(embedded_vhost, auto_delete=False)
        try:
            assert embedded_vhost in snapshot().queues
            assert snapshot().vhost == "/"
        finally:
            conn.channel().queue_delete(embedded_vhost)


# -- a real RabbitMQ -----------------------------------------------------------------------


@pytest.fixture
def node(rabbitmq_node: RabbitMQNode) -> RabbitMQNode:
    """The session's private node (tests/conftest.py)."""
    return rabbitmq_node


@pytest.fixture
def vhost(node: RabbitMQNode) -> SimpleNamespace:
    """A fresh vhost with a slash in its name, as OpenStack-Ansible's ``/nova``.

    ``read()`` snapshots it through the private node's management port.
    """
    name = f"/topology-{uuid.uuid4().hex[:8]}"
    url = node.add_vhost(name)
    yield SimpleNamespace(name=name, url=url, read=partial(snapshot, url,
                                                management_url=node.management_url))
    node.delete_vhost(name)


def _settled(read, expected: Topology) -> Topology:
    """The snapshot once it equals ``expected`` (or the last one read after 10 s): the
    management API's unacknowledged counts lag behind the broker."""
    eventually(lambda: read() == expected, timeout=10.0, interval=0.1)
    return read()


@pytest.mark.rabbitmq
def test_rabbitmq_snapshot(vhost: SimpleNamespace) -> None:
    with broker.connect(vhost.url) as conn:
        _declare_lesson_topology(conn)
        _take_without_ack(conn)
        first = vhost.read()
        # Live from AMQP, before the management API has any statistics for these queues.
        assert first.queues["compute"].messages_ready == 2
        assert first.queues["compute.node1"].consumers == 1
        top = _settled(vhost.read, EXPECTED)
        assert top == EXPECTED, top.diff(EXPECTED)
        assert top.vhost.startswith("/topology-")
        assert ":guest@" not in top.source and top.vhost[1:] in top.source
        full = vhost.read(include_builtin=True)
        assert full.exchanges[""] == Exchange("", "direct", durable=True)
        assert full.exchanges["amq.topic"].type == "topic"
        assert Binding("", "compute", "compute") in full.bindings


@pytest.mark.rabbitmq
def test_rabbitmq_and_embedded_agree(vhost: SimpleNamespace, embedded_vhost: str) -> None:
    with (broker.connect(vhost.url) as real,
          broker.connect(f"embedded:///{embedded_vhost}") as fake):
        for conn in (real, fake):
            _declare_lesson_topology(conn)
            _take_without_ack(conn)
        ours = snapshot(f"embedded:///{embedded_vhost}")
        theirs = _settled(vhost.read, ours)
        assert theirs == ours, ours.diff(theirs)


@pytest.mark.rabbitmq
def test_rabbitmq_from_environment_and_credentials_in_management_url(
        node: RabbitMQNode, vhost: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    with broker.connect(vhost.url) as conn:
        conn.channel().queue_declare("conductor", auto_delete=False)
        monkeypatch.setenv("COURSE_TRANSPORT_URL", vhost.url)
        assert list(snapshot(management_url=node.management_url).queues) == ["conductor"]
    # A service user that may not use the management API: the management URL's user reads it.
    node.api("PUT", "/api/users/nova", {"password": "n0va", "tags": ""})
    node.api("PUT", f"/api/permissions/{quote(vhost.name, safe='')}/nova",
             {"configure": ".*", "write": ".*", "read": ".*"})
    service = vhost.url.replace("guest:guest@", "nova:n0va@")
    with pytest.raises(ManagementAPIError):
        snapshot(service, management_url=node.management_url)
    management = f"http://guest:guest@127.0.0.1:{node.management_port}/"
    assert list(snapshot(service, management_url=management).queues) == ["conductor"]


def test_management_api_address_defaults_to_the_first_host() -> None:
    api = _ManagementAPI.for_broker(
        parse_transport_url("rabbit://nova:pw@[::1]:5673,other:pw2@ctl2/nova"), None)
    assert (api.base, api.user, api.password, api.vhost) == ("http://[::1]:15672", "nova",
                                                             "pw", "nova")
    api = _ManagementAPI.for_broker(parse_transport_url("rabbit://"), "https://a:b%40c@mq/admin/")
    assert (api.base, api.user, api.password, api.vhost) == ("https://mq/admin", "a", "b@c", "/")
    assert "pw" not in repr(_ManagementAPI.for_broker(parse_transport_url("rabbit://u:pw@h/"),
                                                      None))


@pytest.mark.rabbitmq
def test_vanished_queue_is_dropped_and_locked_one_kept(vhost: SimpleNamespace) -> None:
    with broker.connect(vhost.url) as owner:
        owner.channel().queue_declare("reply_ab12", exclusive=True)
        locked = {"name": "reply_ab12", "messages_ready": 7, "consumers": 0}
        assert _live_counts(vhost.url, [{"name": "gone"}, locked, {"name": "gone2"}]) == [locked]


@pytest.mark.rabbitmq
@pytest.mark.parametrize("language", ["en", "fr"])
def test_rabbitmq_errors_are_one_clear_masked_sentence(
        node: RabbitMQNode, language: str) -> None:
    i18n.set_language(language)  # (the conftest's `english` sets it back afterwards)
    api = {"management_url": node.management_url}
    nowhere = {"management_url": f"http://127.0.0.1:{free_port()}"}
    cases = [
        (f"rabbit://guest:s3cret@127.0.0.1:{node.amqp_port}/", api, ManagementAPIError,
         {"en": "refused user guest (401)", "fr": "a refusé l’utilisateur guest (401)"}),
        (node.url, nowhere, ManagementAPIError,
         {"en": "enable it with `rabbitmq-plugins enable rabbitmq_management`",
          "fr": "activez-la avec `rabbitmq-plugins enable rabbitmq_management`"}),
        (f"rabbit://guest:s3cret@127.0.0.1:{free_port()}/", nowhere,
         BrokerUnreachable, {"en": "Cannot reach", "fr": "Impossible de joindre"}),
        (node.vhost_url("no-such-vhost"), api, ManagementAPIError,
         {"en": "Virtual host no-such-vhost does not exist",
          "fr": "L’hôte virtuel no-such-vhost n’existe pas"}),
    ]
    for url, options, error, words in cases:
        started = time.monotonic()
        with pytest.raises(error) as caught:
            snapshot(url, **options)
        assert time.monotonic() - started < 5
        message = str(caught.value)
        assert words[language] in message and "s3cret" not in message
        assert "\n" not in message


def test_the_management_api_can_be_named_by_the_environment(monkeypatch):
    """A node on another port (Binder's, a test's) is reached through $COURSE_MANAGEMENT_URL."""
    from course.topology import MANAGEMENT_ENV_VAR, _ManagementAPI
    from course.transport_url import parse_transport_url

    parsed = parse_transport_url("rabbit://nova:secret@controller:5672/")
    assert _ManagementAPI.for_broker(parsed, None).base == "http://controller:15672"
    monkeypatch.setenv(MANAGEMENT_ENV_VAR, "http://127.0.0.1:25672")
    api = _ManagementAPI.for_broker(parsed, None)
    assert (api.base, api.user, api.password) == ("http://127.0.0.1:25672", "nova", "secret")
    assert _ManagementAPI.for_broker(parsed, "http://other:1").base == "http://other:1"
