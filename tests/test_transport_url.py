"""transport_url: oslo.messaging's parsing rules, masked passwords, clear errors, connecting."""

from __future__ import annotations

import socket
import time
import uuid

import pytest
from babel.messages.extract import extract_from_file
from helpers import require
from kombu.utils.url import parse_url

import course.transport_url as transport_url
from course import i18n, rabbitmq
from course.errors import BrokerUnreachable, TransportURLError
from course.transport_url import Host, mask_url, open_connection, parse_transport_url

SECRET = "s3cr3t-Pa55"


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused at once."""
    return rabbitmq.free_port()


@pytest.fixture
def node(rabbitmq_node):
    """The session's private node (tests/conftest.py)."""
    return rabbitmq_node


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text
        assert SECRET[:6] not in text


# -- parsing -------------------------------------------------------------------------------


def test_single_host_as_in_the_nova_install_guide():
    url = parse_transport_url(f"rabbit://openstack:{SECRET}@controller:5672/")
    assert url.driver == "rabbit"
    assert url.hosts == (Host("controller", 5672, "openstack", SECRET),)
    assert url.virtual_host == ""
    assert url.vhost == "/"
    assert url.query == {}
    assert url.warnings == ()


def test_default_port_is_5672():
    (host,) = parse_transport_url("rabbit://controller/").hosts
    assert (host.hostname, host.port, host.username, host.password) == ("controller", 5672,
                                                                        None, None)


def test_several_hosts_each_with_credentials():
    url = parse_transport_url(f"rabbit://a:{SECRET}@ctl1:5672,b:{SECRET}@ctl2:5673,"
                              f"c:{SECRET}@ctl3/")
    assert [(h.hostname, h.port, h.username) for h in url.hosts] == [
        ("ctl1", 5672, "a"), ("ctl2", 5673, "b"), ("ctl3", 5672, "c")]
    assert all(h.password == SECRET for h in url.hosts)
    assert url.warnings == ()


@pytest.mark.parametrize(("text", "hostname", "port", "address"), [
    ("rabbit://u:p@[::1]:5673/", "::1", 5673, "[::1]:5673"),
    ("rabbit://[::1]/", "::1", 5672, "[::1]:5672"),
    ("rabbit://[2001:db8::7]:5671/", "2001:db8::7", 5671, "[2001:db8::7]:5671"),
    ("rabbit://::1/", "::1", 5672, "[::1]:5672"),  # oslo: no port without brackets
])
def test_ipv6_hosts(text, hostname, port, address):
    (host,) = parse_transport_url(text).hosts
    assert (host.hostname, host.port, host.address) == (hostname, port, address)
    assert address in str(parse_transport_url(text))


@pytest.mark.parametrize(("text", "virtual_host", "vhost"), [
    ("rabbit://h", None, "/"),            # nothing after the hosts
    ("rabbit://h/", "", "/"),             # a lone slash: still the default vhost
    ("rabbit://h//", "/", "/"),           # the vhost named "/" explicitly
    ("rabbit://h/nova", "nova", "nova"),
    ("rabbit://h/%2Fnova", "/nova", "/nova"),
    ("rabbit://h/cell%201", "cell 1", "cell 1"),
    ("rabbit://h/nova#ignored", "nova", "nova"),
])
def test_vhost_rules(text, virtual_host, vhost):
    url = parse_transport_url(text)
    assert (url.virtual_host, url.vhost) == (virtual_host, vhost)


def test_percent_encoded_credentials_are_decoded():
    (host,) = parse_transport_url("rabbit://us%3Aer:p%40ss%2Fw%2C%3F@h/").hosts
    assert (host.username, host.password) == ("us:er", "p@ss/w,?")


def test_one_at_sign_in_the_user_name_is_allowed_as_in_oslo():
    (host,) = parse_transport_url(f"rabbit://nova@example.org:{SECRET}@h/").hosts
    assert (host.username, host.password, host.hostname) == ("nova@example.org", SECRET, "h")


def test_driver_is_case_insensitive_and_surrounding_space_ignored():
    url = parse_transport_url("  RABBIT://h/\n")
    assert url.driver == "rabbit"
    assert url.hosts[0].hostname == "h"


def test_query_options_are_typed():
    url = parse_transport_url(
        "rabbit://h/?ssl=true&heartbeat_timeout_threshold=30&kombu_reconnect_delay=0.5"
        "&kombu_failover_strategy=shuffle&rabbit_quorum_queue=0")
    assert url.query == {"ssl": True, "heartbeat_timeout_threshold": 30,
                         "kombu_reconnect_delay": 0.5, "kombu_failover_strategy": "shuffle",
                         "rabbit_quorum_queue": False}


@pytest.mark.parametrize(("text", "value"), [
    ("1", True), ("yes", True), ("On", True), ("TRUE", True),
    ("0", False), ("no", False), ("off", False), ("False", False),
])
def test_boolean_spellings_of_oslo_config(text, value):
    assert parse_transport_url(f"rabbit://h/?ssl={text}").query == {"ssl": value}


def test_query_options_override_the_kombu_connection():
    url = parse_transport_url("rabbit://h/?kombu_failover_strategy=shuffle"
                              "&rabbit_login_method=PLAIN&ssl=1&ssl_ca_file=/etc/ca.pem")
    options = url.kombu_options()
    assert options["failover_strategy"] == "shuffle"
    assert options["login_method"] == "PLAIN"
    assert options["ssl"]["ca_certs"] == "/etc/ca.pem"
    defaults = parse_transport_url("rabbit://h/").kombu_options()
    assert defaults == {"login_method": "AMQPLAIN", "failover_strategy": "round-robin",
                        "ssl": False}


def test_option_without_value_is_ignored_with_a_warning():
    url = parse_transport_url("rabbit://h/?ssl=&heartbeat_rate=2")
    assert url.query == {"heartbeat_rate": 2}
    assert any("ssl" in w and "ignores" in w for w in url.warnings)


def test_repeated_option_joins_its_values_like_oslo():
    url = parse_transport_url("rabbit://h/?ssl_version=tlsv1_2&ssl_version=tlsv1_3")
    assert url.query == {"ssl_version": "tlsv1_2,tlsv1_3"}


def test_partial_credentials_give_a_warning_without_the_password():
    url = parse_transport_url(f"rabbit://nova:{SECRET}@ctl1,ctl2:5673/")
    (warning,) = url.warnings
    assert "ctl1:5672" in warning and "ctl2:5673" in warning
    assert_no_secret(warning)


def test_a_user_without_password_counts_as_without_credentials():
    url = parse_transport_url(f"rabbit://nova:{SECRET}@ctl1,nova@ctl2/")
    assert len(url.warnings) == 1
    assert url.hosts[1].username == "nova" and url.hosts[1].password is None


def test_no_host_means_guest_on_localhost_as_in_oslo():
    url = parse_transport_url("rabbit://")
    assert url.hosts == ()
    assert url.kombu_urls() == ["amqp://guest:guest@localhost:5672/"]
    assert any("localhost:5672" in w for w in url.warnings)
    assert "localhost:5672" in url.explain()


def test_amqp_driver_is_kombus_name_and_warns():
    url = parse_transport_url("amqp://guest:guest@h/")
    assert url.driver == "amqp"
    assert any("rabbit://" in w for w in url.warnings)
    assert url.kombu_urls() == ["amqp://guest:guest@h:5672/"]


@pytest.mark.parametrize(("text", "virtual_host"), [
    ("embedded://", None), ("embedded:///", ""), ("embedded:///cell1", "cell1"),
])
def test_embedded_driver_has_no_host(text, virtual_host):
    url = parse_transport_url(text)
    assert (url.driver, url.hosts, url.virtual_host) == ("embedded", (), virtual_host)
    assert url.warnings == ()
    with pytest.raises(TransportURLError, match="course.broker.connect"):
        url.kombu_urls()


def test_kombu_urls_encode_what_kombu_decodes():
    url = parse_transport_url("rabbit://u:p%40ss%2F@h1:5673,u:p%40ss%2F@[::1]/%2Fnova")
    urls = url.kombu_urls()
    assert urls == ["amqp://u:p%40ss%2F@h1:5673/%2Fnova", "amqp://u:p%40ss%2F@[::1]:5672/%2Fnova"]
    for text, host in zip(urls, ("h1", "::1"), strict=True):
        parts = parse_url(text)
        assert (parts["hostname"], parts["userid"], parts["password"], parts["virtual_host"]) == (
            host, "u", "p@ss/", "/nova")


@pytest.mark.parametrize(("text", "virtual_host"), [
    ("rabbit://h", "/"), ("rabbit://h/", "/"), ("rabbit://h//", "/"), ("rabbit://h/nova", "nova"),
])
def test_kombu_reaches_the_same_vhost(text, virtual_host):
    (kombu_url,) = parse_transport_url(text).kombu_urls()
    assert (parse_url(kombu_url)["virtual_host"] or "/") == virtual_host


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "named"), [
    ("", ["empty"]),
    ("   ", ["empty"]),
    (f"rabbit:nova:{SECRET}@controller", ["://"]),
    (f"nova:{SECRET}@controller:5672/", ["://"]),
    (f"://nova:{SECRET}@controller/", ["driver"]),
    (f"kafka://nova:{SECRET}@controller/", ['"kafka"', "rabbit"]),
    (f"rabbit://nova:{SECRET}@controller:abc/", ['"abc"', "controller"]),
    (f"rabbit://nova:{SECRET}@controller:/", ['""', "controller"]),
    (f"rabbit://nova:{SECRET}@controller:0/", ["0", "controller", "65535"]),
    (f"rabbit://nova:{SECRET}@controller:65536/", ["65536", "controller"]),
    (f"rabbit://nova:{SECRET}@controller:+5_672/", ['"+5_672"']),
    ("rabbit://ctl1,,ctl3/", ["Host 2", "comma"]),
    ("rabbit://ctl1,ctl2,/", ["Host 3", "comma"]),
    (f"rabbit://nova:{SECRET}@/", ["Host 1", "no host name"]),
    (f"rabbit://nova:{SECRET}@:5672/", ["Host 1", "no host name"]),
    (f"rabbit://nova:{SECRET}@[::1/", ["Host 1", "[IPv6]:port"]),
    (f"rabbit://nova:{SECRET}@[::1]x/", ["Host 1", "[IPv6]:port"]),
    (f"rabbit://nova:{SECRET}@x@controller/", ["nova", "@", "%40"]),
    (f"rabbit://nova:{SECRET}/x@controller/", ["nova", "/", "%2F"]),
    (f"rabbit://nova:{SECRET}/x/y@controller/", ["nova", "/", "%2F"]),
    (f"rabbit://nova:{SECRET}?x@controller/", ["nova", "?", "%3F"]),
    (f"rabbit://nova:{SECRET}#x@controller/", ["nova", "#", "%23"]),
    (f"rabbit://nova:{SECRET},x@controller/", ["Host 1", "%2C"]),
    ("rabbit://nova:1234/5678@controller/", ["%2F", "%40"]),
    ("rabbit://controller/my@vhost", ["%40"]),
    (f"rabbit://nova:{SECRET}@h/?heartbeat=10", ['"heartbeat"', "[oslo_messaging_rabbit]",
                                                 "heartbeat_rate"]),
    (f"rabbit://nova:{SECRET}@h/?rabbit_host=ctl1", ['"rabbit_host"']),
    (f"rabbit://nova:{SECRET}@h/?ssl=maybe", ["ssl", '"maybe"', "true or false"]),
    (f"rabbit://nova:{SECRET}@h/?ssl=1&ssl=0", ["ssl", '"1,0"']),
    (f"rabbit://nova:{SECRET}@h/?heartbeat_rate=fast", ["heartbeat_rate", '"fast"',
                                                        "whole number"]),
    (f"rabbit://nova:{SECRET}@h/?kombu_reconnect_delay=soon", ["kombu_reconnect_delay",
                                                               "a number"]),
    (f"rabbit://nova:{SECRET}@h/?kombu_reconnect_delay=9", ["kombu_reconnect_delay", "4.5"]),
    (f"rabbit://nova:{SECRET}@h/?rpc_conn_pool_size=0", ["rpc_conn_pool_size", "at least 1"]),
    (f"rabbit://nova:{SECRET}@h/?kombu_failover_strategy=random", ['"random"', "round-robin"]),
    (f"embedded://nova:{SECRET}@h/", ["embedded", "no host"]),
])
def test_malformed_urls_name_the_bad_part_and_hide_the_password(text, named):
    with pytest.raises(TransportURLError) as caught:
        parse_transport_url(text)
    message = str(caught.value)
    for part in named:
        assert part in message
    assert_no_secret(message, repr(caught.value))
    assert "\n" not in message


def test_not_a_string():
    with pytest.raises(TransportURLError, match="string"):
        parse_transport_url(None)


def test_errors_are_value_errors_for_callers_that_catch_those():
    with pytest.raises(ValueError):
        parse_transport_url("kafka://h/")


# -- showing a URL ------------------------------------------------------------------------------


def test_repr_str_and_explain_mask_the_password():
    url = parse_transport_url(f"rabbit://nova:{SECRET}@ctl1,nova:{SECRET}@[::1]:5673/nova"
                              "?ssl=true")
    for text in (repr(url), str(url), url.explain(), repr(url.hosts), str(url.hosts[0])):
        assert_no_secret(text)
        assert "****" in text
    assert str(url) == "rabbit://nova:****@ctl1:5672,nova:****@[::1]:5673/nova?ssl=true"


def test_explain_has_one_line_per_part():
    url = parse_transport_url(f"rabbit://nova:{SECRET}@ctl1,ctl2:5673//?heartbeat_rate=2")
    lines = url.explain().splitlines()
    assert lines[0].startswith("driver: rabbit")
    assert lines[1] == "host 1: ctl1:5672, user nova, password ****"
    assert lines[2].startswith("host 2: ctl2:5673, no credentials")
    assert lines[3] == "vhost: / (named explicitly by //)"
    assert lines[4].startswith("option heartbeat_rate = 2")
    assert lines[5].startswith("warning: ")
    assert len(lines) == 6


@pytest.mark.parametrize(("text", "why"), [
    ("rabbit://h", "nothing after the hosts"),
    ("rabbit://h/", "a lone /"),
    ("rabbit://h//", "explicitly"),
    ("rabbit://h/%2Fnova", "vhost: /nova"),
    ("embedded:///cell1", "vhost: cell1"),
])
def test_explain_says_why_the_vhost_is_what_it_is(text, why):
    assert why in parse_transport_url(text).explain()


@pytest.mark.parametrize("text", [
    f"transport_url = rabbit://nova:{SECRET}@ctl1:5672,nova:{SECRET}@ctl2:5672/nova",
    f"<Connection: amqp://guest:{SECRET}@h:1//;amqp://guest:{SECRET}@h:2// at 0x7f>",
    f"rabbit://nova:{SECRET}/oops@ctl1/",
    f"'rabbit://nova:{SECRET}@ctl1/' and 'amqp://a:{SECRET}@b//'",
    f"rabbit://:{SECRET}@ctl1/",
])
def test_mask_url_hides_every_password(text):
    masked = mask_url(text)
    assert_no_secret(masked)
    assert "****" in masked
    assert mask_url(masked) == masked


def test_mask_url_leaves_the_rest_alone():
    text = "rabbit://nova@ctl1:5672/nova?ssl=1 and rabbit://ctl2/ and http://example.org/x"
    assert mask_url(text) == text
    assert mask_url(f"see rabbit://nova:{SECRET}@ctl1/nova.") == "see rabbit://nova:****@ctl1/nova."


# -- French -------------------------------------------------------------------------------------


def test_errors_in_french(french):
    with pytest.raises(TransportURLError) as caught:
        parse_transport_url(f"rabbit://nova:{SECRET}@ctl1,,ctl3/")
    assert str(caught.value) == (
        "L’hôte 2 du transport_url est vide\u00a0: supprimez la virgule en trop.")
    with pytest.raises(TransportURLError) as caught:
        parse_transport_url(f"rabbit://nova:{SECRET}@h/?ssl=peut-être")
    assert "«\u00a0peut-être\u00a0»" in str(caught.value)
    assert_no_secret(str(caught.value))


def test_explain_and_warnings_in_french(french):
    url = parse_transport_url(f"rabbit://nova:{SECRET}@ctl1,ctl2/")
    text = url.explain()
    assert text.startswith("pilote\u00a0: rabbit")
    assert "hôte 1\u00a0: ctl1:5672, utilisateur nova, mot de passe ****" in text
    assert "hôte virtuel\u00a0: /" in text
    assert url.warnings[0].startswith("les hôtes ctl1:5672")
    assert_no_secret(text)


def test_every_message_has_a_french_translation():
    path = transport_url.__file__
    msgids = {m for _l, m, _c, _x in extract_from_file("python", path, keywords={"_": None})}
    catalog = i18n.catalog("fr")
    assert sorted(msgids - catalog.keys()) == []
    for msgid in msgids:
        assert "{" not in msgid or sorted(_fields(msgid)) == sorted(_fields(catalog[msgid]))


OSLO_MISSING = "oslo.messaging is not installed: pip install -e '.[test]'"


def _fields(text: str) -> list[str]:
    return [part.split("}")[0] for part in text.split("{")[1:]]


def test_option_table_matches_oslo_messaging():
    impl_rabbit = require("oslo_messaging._drivers.impl_rabbit", OSLO_MISSING)
    amqp_opts = require("oslo_messaging._drivers.amqp", OSLO_MISSING).amqp_opts
    types = {"Boolean": bool, "Integer": int, "Float": float, "String": str}
    oslo = {opt.name: types[type(opt.type).__name__]
            for opt in [*impl_rabbit.rabbit_opts, *amqp_opts]}
    assert {name: option.type for name, option in transport_url.RABBIT_OPTIONS.items()} == oslo


@pytest.mark.parametrize("text", [
    "rabbit://", "rabbit:///", "rabbit:////", "rabbit://h", "rabbit://h//", "rabbit://h/%2Fnova",
    f"rabbit://nova:{SECRET}@ctl1:5672,nova:{SECRET}@ctl2:5673/nova?ssl=1",
    "rabbit://us%3Aer:p%40ss@[::1]:5673/x", f"rabbit://nova@example.org:{SECRET}@h/",
    "rabbit://a:b@h1,h2/", "rabbit://::1/", "rabbit://:p@h/",
])
def test_same_reading_as_oslo_messaging(text):
    oslo_messaging = require("oslo_messaging", OSLO_MISSING)
    cfg = require("oslo_config.cfg", OSLO_MISSING)
    theirs = oslo_messaging.TransportURL.parse(cfg.ConfigOpts(), text)
    ours = parse_transport_url(text)
    assert ours.driver == theirs.transport
    assert ours.virtual_host == theirs.virtual_host
    assert [(h.hostname, h.port, h.username, h.password) for h in ours.hosts] == [
        (h.hostname, h.port or 5672, h.username, h.password) for h in theirs.hosts]
    assert ours.query.keys() == theirs.query.keys()


# -- connecting -----------------------------------------------------------------------------------


def test_refused_port_fails_fast_and_clearly(closed_port):
    start = time.monotonic()
    with pytest.raises(BrokerUnreachable) as caught:
        open_connection(f"rabbit://nova:{SECRET}@127.0.0.1:{closed_port}/")
    assert time.monotonic() - start < 5
    message = str(caught.value)
    assert f"127.0.0.1:{closed_port}" in message
    assert "connection refused" in message and "is RabbitMQ running?" in message
    assert_no_secret(message)


def test_two_refused_hosts_are_both_named():
    first, second = rabbitmq.free_port(), rabbitmq.free_port()
    start = time.monotonic()
    with pytest.raises(BrokerUnreachable) as caught:
        open_connection(f"rabbit://nova:{SECRET}@127.0.0.1:{first},nova:{SECRET}@[::1]:{second}/")
    assert time.monotonic() - start < 5
    message = str(caught.value)
    assert f"127.0.0.1:{first}: connection refused" in message
    assert f"[::1]:{second}: connection refused" in message
    assert_no_secret(message)


def test_unknown_name_is_said_plainly():
    start = time.monotonic()
    with pytest.raises(BrokerUnreachable) as caught:
        open_connection(f"rabbit://nova:{SECRET}@rabbitmq.invalid:5672/", timeout=3)
    assert time.monotonic() - start < 5
    assert "rabbitmq.invalid does not resolve" in str(caught.value)
    assert_no_secret(str(caught.value))


def test_silent_port_times_out_within_the_timeout():
    with socket.socket() as silent:  # accepts connections, never speaks AMQP
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        start = time.monotonic()
        with pytest.raises(BrokerUnreachable) as caught:
            open_connection(f"rabbit://nova:{SECRET}@127.0.0.1:{port}/", timeout=1)
        assert time.monotonic() - start < 2
    assert "no answer within 1 s" in str(caught.value)


def test_embedded_url_is_not_for_open_connection():
    with pytest.raises(TransportURLError, match="course.broker.connect"):
        open_connection("embedded://")


def test_unreachable_in_french(french, closed_port):
    with pytest.raises(BrokerUnreachable) as caught:
        open_connection(f"rabbit://nova:{SECRET}@127.0.0.1:{closed_port}/")
    assert str(caught.value).startswith("Impossible de se connecter à RabbitMQ")
    assert f"127.0.0.1:{closed_port}\u00a0: connexion refusée" in str(caught.value)


@pytest.mark.rabbitmq
def test_connects_to_a_real_rabbitmq(node):
    with open_connection(node.url) as connection:
        assert connection.connected
        assert connection.virtual_host == "/"
        assert connection.port == node.amqp_port


@pytest.mark.rabbitmq
def test_accepts_a_parsed_url(node):
    with open_connection(parse_transport_url(node.url), timeout=2) as connection:
        assert connection.connected


@pytest.mark.rabbitmq
def test_fails_over_to_the_next_host(node, closed_port):
    url = f"rabbit://guest:guest@127.0.0.1:{closed_port},guest:guest@127.0.0.1:{node.amqp_port}/"
    start = time.monotonic()
    with open_connection(url) as connection:
        assert connection.connected
        assert connection.port == node.amqp_port
    assert time.monotonic() - start < 5


@pytest.mark.rabbitmq
def test_wrong_password_is_an_authentication_message(node):
    with pytest.raises(BrokerUnreachable) as caught:
        open_connection(f"rabbit://guest:{SECRET}@127.0.0.1:{node.amqp_port}/")
    message = str(caught.value)
    assert "ACCESS_REFUSED" in message and "wrong user name or password" in message
    assert_no_secret(message)


@pytest.mark.rabbitmq
def test_missing_vhost_says_how_to_create_it(node):
    name = f"missing-{uuid.uuid4().hex[:8]}"
    with pytest.raises(BrokerUnreachable) as caught:
        open_connection(f"rabbit://guest:guest@127.0.0.1:{node.amqp_port}/{name}")
    message = str(caught.value)
    assert "NOT_ALLOWED" in message and f"rabbitmqctl add_vhost {name}" in message


@pytest.mark.rabbitmq
def test_connects_to_a_created_vhost(node):
    name = f"cell-{uuid.uuid4().hex[:8]}"
    url = node.add_vhost(name)
    try:
        with open_connection(url) as connection:
            assert connection.virtual_host == name
    finally:
        node.delete_vhost(name)


@pytest.mark.rabbitmq
def test_authentication_message_in_french(french, node):
    with pytest.raises(BrokerUnreachable) as caught:
        open_connection(f"rabbit://guest:{SECRET}@127.0.0.1:{node.amqp_port}/")
    assert "RabbitMQ a refusé l’utilisateur guest (ACCESS_REFUSED, 403)" in str(caught.value)
    assert_no_secret(str(caught.value))
