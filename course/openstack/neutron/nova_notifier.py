"""How Neutron tells Nova a port is plugged: HTTP to nova-api, never the bus
(``neutron/notifiers/nova.py``).

Events (``network-vif-plugged``, ``network-vif-deleted``) are batched every
``send_events_interval`` seconds (``neutron/notifiers/batch_notifier.py``) and
``POST``ed to ``/v2.1/os-server-external-events``; the trace shows the request as an
``http`` hop from neutron-server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ..service import Service

LOG = logging.getLogger(__name__)


class Notifier:
    """neutron-server's Nova notifier: queue events, send them in batches."""

    def __init__(self, service: Service, send_events_interval: float) -> None:
        self.service = service
        #: 0 or less: send each event at once.
        self.send_events_interval = send_events_interval
        #: Called with each batch of events, where Nova would receive them.
        self.callback: Callable[[list[dict]], Any] | None = None
        #: Who receives the request in the trace.
        self.nova_api = "nova-api"
        self._lock = threading.Lock()
        self._events: list[tuple[dict, str]] = []

    def queue_event(self, name: str, server_uuid: str, port_id: str,
                    request_id: str = "") -> None:
        """One event for the server ``server_uuid`` (the port's ``device_id``)."""
        event = {"name": name, "server_uuid": server_uuid, "tag": port_id,
                 "status": "completed"}
        with self._lock:
            self._events.append((event, request_id))
        if self.send_events_interval <= 0:
            self.send_events()

    def send_events(self) -> None:
        """``send_events``: one ``POST /v2.1/os-server-external-events`` per batch."""
        with self._lock:
            batch, self._events = self._events, []
        if not batch:
            return
        self.service.http(self.nova_api, "POST", "/v2.1/os-server-external-events",
                          request_id=batch[0][1])
        if self.callback is not None:
            try:
                self.callback([event for event, _rid in batch])
            except Exception:  # Nova's answer never breaks Neutron
                LOG.exception("Failed to notify nova on events")
