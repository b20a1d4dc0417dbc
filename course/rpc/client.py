"""The caller's side: ``cast`` (publish and return) and ``call`` (publish, then wait for
the reply matched by ``_msg_id``).
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from typing import Any

import kombu

from ..i18n import _
from ..wire import (
    pack_context,
)
from .exceptions import InvalidTarget, RPCVersionCapError
from .target import NoOpSerializer, Target, version_is_compatible
from .transport import Transport

LOG = logging.getLogger(__name__)


class RPCClient:
    """Sends casts and calls to a target; ``prepare()`` returns a copy with changes."""

    def __init__(self, transport: Transport, target: Target, timeout: float | None = None,
                 version_cap: str | None = None, serializer: Any = None,
                 call_monitor_timeout: float | None = None) -> None:
        self.transport = transport
        self.target = target
        self.timeout = timeout
        self.version_cap = version_cap
        self.serializer = serializer or NoOpSerializer()
        self.call_monitor_timeout = call_monitor_timeout

    def prepare(self, exchange: str | None = None, topic: str | None = None,
                namespace: str | None = None, version: str | None = None,
                server: str | None = None, fanout: bool | None = None,
                timeout: float | None = None, version_cap: str | None = None,
                call_monitor_timeout: float | None = None) -> RPCClient:
        changes = {k: v for k, v in dict(exchange=exchange, topic=topic, namespace=namespace,
                                          version=version, server=server,
                                          fanout=fanout).items() if v is not None}
        return RPCClient(self.transport, self.target(**changes),
                         self.timeout if timeout is None else timeout,
                         version_cap or self.version_cap, self.serializer,
                         call_monitor_timeout or self.call_monitor_timeout)

    def can_send_version(self, version: str | None = None) -> bool:
        """May this client send ``version`` (default: the target's) under its version_cap?"""
        return version_is_compatible(self.version_cap,
                                     self.target.version if version is None else version)

    def _message(self, ctxt: dict, method: str, kwargs: dict) -> dict:
        msg: dict[str, Any] = {"method": method, "args": {
            name: self.serializer.serialize_entity(ctxt, value) for name, value in kwargs.items()}}
        if self.target.namespace is not None:
            msg["namespace"] = self.target.namespace
        if self.target.version is not None:
            msg["version"] = self.target.version
        if self.version_cap and not version_is_compatible(self.version_cap,
                                                          msg.get("version")):
            raise RPCVersionCapError(msg.get("version"), self.version_cap)
        return msg

    @functools.cached_property
    def _route(self) -> tuple[kombu.Exchange, str]:
        """Where the target's messages go: (exchange, routing key)."""
        target = self.target
        if not target.topic:
            raise InvalidTarget(_("A target needs a topic to send a message."))
        if target.fanout:  # impl_rabbit.fanout_send publishes with no routing key
            return self.transport.fanout_exchange(target.topic), ""
        key = f"{target.topic}.{target.server}" if target.server else target.topic
        return self.transport.control_exchange_for(target), key

    def cast(self, ctxt: dict, method: str, **kwargs: Any) -> None:
        """Publish and return at once: nobody answers, nothing tells you if it ran."""
        msg = self._message(ctxt, method, kwargs)
        msg["_unique_id"] = uuid.uuid4().hex
        pack_context(msg, self.serializer.serialize_context(ctxt))
        exchange, key = self._route
        self.transport.publish(exchange, key, msg, "fanout" if self.target.fanout else "cast")

    def call(self, ctxt: dict, method: str, **kwargs: Any) -> Any:
        """Publish, then wait for the reply on this process's reply queue."""
        if self.target.fanout:
            raise InvalidTarget(_("A call cannot be a fanout: nobody would know which reply "
                                  "to wait for."))
        timeout = self.timeout if self.timeout is not None else \
            self.transport.conf["rpc_response_timeout"]
        msg = self._message(ctxt, method, kwargs)
        exchange, key = self._route
        waiter = self.transport.reply_waiter()
        msg_id = uuid.uuid4().hex
        msg.update(_msg_id=msg_id, _reply_q=waiter.queue_name,
                   _timeout=self.call_monitor_timeout, _unique_id=uuid.uuid4().hex)
        context = self.serializer.serialize_context(ctxt)
        pack_context(msg, context)
        waiter.listen(msg_id, str(context.get("request_id") or ""))
        try:
            # The request expires when the caller gives up: nobody would read the reply.
            self.transport.publish(exchange, key, msg, "call", expiration=timeout,
                                   deadline=time.monotonic() + timeout)
            result = waiter.wait(msg_id, timeout, self.call_monitor_timeout)
        finally:
            waiter.unlisten(msg_id)
        return self.serializer.deserialize_entity(ctxt, result)


def get_rpc_client(transport: Transport, target: Target, **kwargs: Any) -> RPCClient:
    return RPCClient(transport, target, **kwargs)
