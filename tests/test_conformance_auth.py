"""Broker conformance, logging in: a wrong password is refused on both brokers with
RabbitMQ's code and text (ACCESS_REFUSED, 403), by kombu as by ``course.broker``; no
credentials (embedded) means guest/guest; ``broker.reset()`` forgets added users.
A vhost that does not exist is refused too (NOT_ALLOWED, 530), after the login."""

from __future__ import annotations

import kombu
import pytest
from amqp.exceptions import AccessRefused, NotAllowed

from course import broker as course_broker
from course.errors import BrokerUnreachable
from course.faults.catalogue import with_password
from course.transport_url import TransportURLError, parse_transport_url

REFUSED = ("ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. "
           "For details see the broker logfile.")


def raw(url: str) -> kombu.Connection:
    """A plain kombu connection (PLAIN login, as kombu's default) to the URL's broker."""
    parsed = parse_transport_url(url)
    if parsed.driver == "embedded":
        host = parsed.hosts[0] if parsed.hosts else None
        return kombu.Connection("embedded://", virtual_host=parsed.vhost,
                                userid=host.username if host else None,
                                password=host.password if host else None)
    return kombu.Connection(parsed.kombu_urls()[0], connect_timeout=5)


def test_a_wrong_password_is_refused_with_rabbitmqs_code_and_text(broker):
    bad = with_password(broker.url, "not-the-password")
    conn = raw(bad)
    with pytest.raises(AccessRefused) as refused:
        conn.connect()
    conn.release()
    assert (refused.value.reply_code, refused.value.reply_text) == (403, REFUSED)
    with pytest.raises(BrokerUnreachable) as error:
        course_broker.connect(bad, timeout=5)
    assert "ACCESS_REFUSED, 403" in str(error.value)
    assert "not-the-password" not in str(error.value)


def test_the_right_password_connects(broker):
    good = with_password(broker.url, "guest")
    with course_broker.connect(good, timeout=5) as conn:
        assert conn.connected


def test_an_embedded_url_without_credentials_logs_in_as_guest(url):
    with course_broker.connect(url) as conn:
        assert conn.connected
    assert parse_transport_url(with_password(url, "x")).hosts[0].username == "guest"


def test_added_users_log_in_until_reset():
    course_broker.add_user("nova", "s3cret")
    with course_broker.connect("embedded://nova:s3cret@/") as conn:
        assert conn.connected
    course_broker.reset()
    with pytest.raises(BrokerUnreachable, match="refused user nova"):
        course_broker.connect("embedded://nova:s3cret@/")
    with course_broker.connect("embedded://guest:guest@/") as conn:
        assert conn.connected


def test_embedded_credentials_are_masked_and_a_host_is_still_refused():
    parsed = parse_transport_url("embedded://nova:s3cret@/cell1")
    assert str(parsed) == "embedded://nova:****@/cell1" and "s3cret" not in repr(parsed)
    assert parsed.vhost == "cell1"
    with pytest.raises(TransportURLError, match="takes no host"):
        parse_transport_url("embedded://nova:s3cret@ctl/cell1")


def other_vhost(url: str, vhost: str) -> str:
    """``url`` with another vhost, the same user and password."""
    return url.rpartition("/")[0] + "/" + vhost


def test_an_unknown_vhost_is_refused_with_rabbitmqs_code_and_text(broker):
    """After the login, connection.open to a vhost that does not exist: NOT_ALLOWED 530,
    "vhost X not found" (kombu: NotAllowed; course.broker: one line, password masked)."""
    missing = other_vhost(broker.url, "no-such-vhost")
    conn = raw(missing)
    with pytest.raises(NotAllowed) as refused:
        conn.connect()
    conn.release()
    assert (refused.value.reply_code, refused.value.reply_text) == (
        530, "NOT_ALLOWED - vhost no-such-vhost not found")
    assert refused.value.method_name == "Connection.open"
    with pytest.raises(BrokerUnreachable) as error:
        course_broker.connect(with_password(missing, "guest"), timeout=5)
    assert "no-such-vhost" in str(error.value) and "NOT_ALLOWED, 530" in str(error.value)
    assert "guest:guest" not in str(error.value) and "\n" not in str(error.value)


def test_the_login_is_checked_before_the_vhost(broker):
    with pytest.raises(AccessRefused):
        raw(with_password(other_vhost(broker.url, "no-such-vhost"), "wrong")).connect()


def test_added_vhosts_are_forgotten_at_reset_but_the_default_one_stays():
    url = course_broker.add_vhost("nova")
    assert url == "embedded:///nova" and course_broker.add_vhost("nova") == url
    with course_broker.connect(url) as conn:
        conn.default_channel.queue_declare("kept", auto_delete=False)
    with course_broker.connect(course_broker.add_vhost("nova")) as conn:  # still there
        assert conn.default_channel.queue_declare("kept", passive=True).queue == "kept"
    course_broker.reset()
    with pytest.raises(BrokerUnreachable, match=r"add_vhost\('nova'\)"):
        course_broker.connect(url)
    with course_broker.connect("embedded://") as conn:
        assert conn.connected
