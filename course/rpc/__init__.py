"""OpenStack's RPC, as oslo.messaging does it on RabbitMQ, written on kombu so you can read it.

Every OpenStack service talks to the others through oslo.messaging.  This module
keeps oslo.messaging's public names (``get_transport``, ``Target``,
``get_rpc_server``, ``get_rpc_client``, ``prepare``, ``cast``, ``call``,
``get_notifier``...) and its wire conventions, so a real oslo.messaging client or
server on the same broker cannot tell the difference.  What it declares:

=================  ===================================  ============================  =========
what               exchange (type)                      queue                         key
=================  ===================================  ============================  =========
RPC to any server  control exchange, e.g. nova (topic)  ``T``, e.g. ``compute``       ``T``
RPC to one server  the same                             ``T.H``, e.g. ``compute.c1``  ``T.H``
fanout RPC         ``T_fanout`` (fanout, auto-delete)   ``T_fanout_<uuid>``, one per  ``T``
                                                        server
replies to call()  the default exchange ``""``          ``reply_<uuid>``, one per     the queue
                                                        process
notifications      control exchange (topic)             ``<topic>.<priority>``        the same
=================  ===================================  ============================  =========

Reply and fanout queues expire after ``rabbit_transient_queues_ttl`` (30 min) unused;
topic queues never do.  Nothing is exclusive.  Fanout casts carry no routing key.  These
are the defaults: :mod:`.declarations` says what durable, quorum, stream and queue-manager
options change, as oslo.messaging does.

Read in this order: :mod:`.target` (``Target``, versions), :mod:`.client` (a cast is
``RPCClient.cast`` then ``Transport.publish``; a call adds the reply queue's
``ReplyWaiter``), :mod:`.transport` (publishing, the reply queue), :mod:`.consumer`
(consuming threads, reconnecting; duplicates dropped),
:mod:`.server` (acknowledge, dispatch, reply), :mod:`.gate` (a paused process),
:mod:`.notify` (``Notifier`` and
``NotificationListener``), :mod:`.exceptions`; the bytes on the wire are
:mod:`course.wire`'s.
"""

from __future__ import annotations

from ..wire import ENVELOPE_VERSION, SECRET_CONTEXT_KEYS
from .client import RPCClient, get_rpc_client
from .exceptions import (
    ExpectedException,
    InvalidTarget,
    MessageDeliveryFailure,
    MessageUndeliverable,
    MessagingException,
    MessagingTimeout,
    NoSuchMethod,
    RemoteError,
    RPCVersionCapError,
    UnsupportedVersion,
    expected_exceptions,
)
from .gate import Gate
from .notify import (
    NotificationListener,
    NotificationResult,
    Notifier,
    get_notification_listener,
    get_notifier,
)
from .server import RPCServer, get_rpc_server
from .target import NoOpSerializer, Target
from .transport import (
    DEFAULTS,
    Transport,
    get_notification_transport,
    get_rpc_transport,
    get_transport,
)

__all__ = [
    "DEFAULTS", "ENVELOPE_VERSION", "SECRET_CONTEXT_KEYS", "ExpectedException", "Gate",
    "InvalidTarget", "MessageDeliveryFailure", "MessageUndeliverable", "MessagingException",
    "MessagingTimeout", "NoOpSerializer", "NoSuchMethod", "NotificationListener",
    "NotificationResult", "Notifier", "RPCClient", "RPCServer", "RPCVersionCapError",
    "RemoteError", "Target", "Transport", "UnsupportedVersion", "expected_exceptions",
    "get_notification_listener", "get_notification_transport", "get_notifier",
    "get_rpc_client", "get_rpc_server", "get_rpc_transport", "get_transport",
]
