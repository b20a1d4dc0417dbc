"""Which broker the course talks to, chosen the way OpenStack chooses one.

``connect()`` returns a plain ``kombu.Connection``: to the embedded broker
(the default, inside this process) or to a RabbitMQ given by an OpenStack
``transport_url`` (``rabbit://user:pass@host:5672/vhost``), passed explicitly
or through the environment variable ``COURSE_TRANSPORT_URL``.  A configured
broker that does not answer is an error, never silently replaced by the
embedded one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from urllib.parse import quote

import kombu
from amqp import exceptions as amqp_errors
from kombu.exceptions import OperationalError

from . import embedded, kombu_transport
from .errors import BrokerRefused, BrokerUnreachable
from .i18n import _
from .transport_url import (
    TransportURL,
    failure_reason,
    open_connection,
    parse_transport_url,
)

__all__ = ["ENV_VAR", "EMBEDDED_URL", "NOTICE_ENV_VAR", "add_user", "add_vhost", "connect",
           "configured_url", "connection_errors", "is_embedded", "parse_transport_url", "reset",
           "start", "stop", "wake"]

#: The environment variable that selects a broker when none is passed.
ENV_VAR = "COURSE_TRANSPORT_URL"
#: Set (by binder/start, through ``python -m course.rabbitmq start``) when the session's
#: RabbitMQ did not start: why, in one line; the lab then says so and runs embedded.
NOTICE_ENV_VAR = "COURSE_BROKER_NOTICE"
#: The transport_url of the embedded broker's default vhost.
EMBEDDED_URL = f"{kombu_transport.SCHEME}://"


def configured_url(url: str | None = None) -> str:
    """The transport_url in force: the one given, else $COURSE_TRANSPORT_URL, else embedded."""
    return url or os.environ.get(ENV_VAR) or EMBEDDED_URL


def is_embedded(url: str | TransportURL | None = None) -> bool:
    parsed = url if isinstance(url, TransportURL) else parse_transport_url(configured_url(url))
    return parsed.driver == kombu_transport.SCHEME


def connect(url: str | TransportURL | None = None, *, timeout: float = 5.0,
            heartbeat: float = 0) -> kombu.Connection:
    """A connected ``kombu.Connection`` to the broker the ``transport_url`` names.

    ``heartbeat`` (seconds) asks for AMQP heartbeats, which the caller then sends
    (``heartbeat_check``); a connection that misses them is closed, on RabbitMQ as on the
    embedded broker.

    Raises ``TransportURLError`` for a malformed URL and ``BrokerUnreachable``
    (within ``timeout`` seconds) for a broker that does not answer.
    """
    parsed = url if isinstance(url, TransportURL) else parse_transport_url(configured_url(url))
    if parsed.driver == kombu_transport.SCHEME:
        if embedded.BROKER.stopped:
            raise BrokerUnreachable(_("The embedded broker is stopped: "
                                      "course.broker.start() starts it again."))
        credentials = parsed.hosts[0] if parsed.hosts else None
        conn = kombu.Connection(f"{kombu_transport.SCHEME}://",
                                virtual_host=parsed.virtual_host or "/",
                                userid=credentials.username if credentials else None,
                                password=credentials.password if credentials else None,
                                heartbeat=heartbeat,
                                # as for RabbitMQ (open_connection): publisher confirms
                                transport_options={"confirm_publish": True})
        try:
            conn.connect()
        except amqp_errors.AccessRefused as error:
            raise BrokerRefused(_(
                "Cannot connect to the embedded broker at {url}: {reason}.", url=str(parsed),
                reason=failure_reason(error, conn, parsed.vhost))) from None
        except amqp_errors.NotAllowed:
            raise BrokerRefused(_(
                "Cannot connect to the embedded broker at {url}: vhost {vhost} not found "
                "(NOT_ALLOWED, 530): create it with `course.broker.add_vhost({name})`.",
                url=str(parsed), vhost=parsed.vhost, name=repr(parsed.vhost))) from None
        return conn
    return open_connection(parsed, timeout=timeout, heartbeat=heartbeat)


def add_vhost(name: str) -> str:
    """``rabbitmqctl add_vhost name`` on the embedded broker (``/`` always exists;
    ``reset()`` forgets the others); the transport_url of the vhost."""
    embedded.BROKER.add_vhost(name)
    return EMBEDDED_URL + ("/" + quote(name, safe="") if name != "/" else "")


def add_user(name: str, password: str) -> None:
    """``rabbitmqctl add_user`` on the embedded broker (``reset()`` forgets it again)."""
    embedded.BROKER.add_user(name, password)


def reset(vhosts: Iterable[str] = ()) -> None:
    """Empty the embedded broker, like restarting a RabbitMQ that keeps nothing on disk;
    ``vhosts`` are made again at once (as a deployment defines them), empty."""
    embedded.BROKER.reset(vhosts)


def stop() -> None:
    """Stop the embedded broker: connections drop, new ones are refused (failure labs)."""
    embedded.BROKER.stop()


def start() -> None:
    """Start the embedded broker again: durable queues and persistent messages come back."""
    embedded.BROKER.start()


def connection_errors() -> tuple[type[BaseException], ...]:
    """What a lost or refused connection raises, on either broker."""
    return (amqp_errors.ConnectionError, amqp_errors.RecoverableConnectionError,
            OperationalError, OSError)


def close_reason(conn: kombu.Connection) -> str:
    """Why the embedded broker closed ``conn`` ("missed heartbeats from client, timeout:
    60s"), as RabbitMQ writes it in its log; "" otherwise (RabbitMQ only resets the TCP
    connection: its client cannot know)."""
    state = conn._connection
    return state.close_reason if isinstance(state, embedded.Connection) else ""


def wake(conn: kombu.Connection) -> None:
    """Make a thread blocked in ``conn.drain_events()`` return at once (embedded broker)."""
    state = conn._connection  # the broker-side connection kombu keeps for us
    if isinstance(state, embedded.Connection):
        embedded.BROKER.wake(state)
