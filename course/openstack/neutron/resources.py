"""Networks, ports and routers as neutron-server stores them (its database rows).

``as_dict()`` is a resource as the API and the RPC messages show it, with the
attribute names of Neutron's API (``binding:host_id``, ``provider:segmentation_id``...).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from .constants import PORT_STATUS_ACTIVE, PORT_STATUS_DOWN


@dataclass(eq=False)
class Network:
    """A Neutron network (one VXLAN segment, one IPv4 subnet)."""

    id: str
    name: str
    segmentation_id: int
    network_type: str = "vxlan"
    cidr: str = "10.0.0.0/24"
    subnet_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "ACTIVE"

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "status": self.status,
                "admin_state_up": True, "subnets": [self.subnet_id],
                "provider:network_type": self.network_type,
                "provider:segmentation_id": self.segmentation_id,
                "provider:physical_network": None}


@dataclass(eq=False)
class Port:
    """A port: ``history`` is its statuses (DOWN, BUILD, ACTIVE), ``wait()`` waits for one.

    The server changes the status from its RPC threads while a lesson waits in another
    one: hence a condition, not a polling loop.
    """

    id: str
    network_id: str
    device_id: str = ""
    device_owner: str = ""
    mac_address: str = ""
    ip_address: str = ""
    host: str = ""
    vif_type: str = "unbound"
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self.status = PORT_STATUS_DOWN
        self.history: list[str] = [self.status]

    def __repr__(self) -> str:
        return (f"<Port {self.id[:8]} {self.status} host={self.host or '-'} "
                f"vif_type={self.vif_type}>")

    @property
    def request_id(self) -> str:
        """The request that created the port (``trace.for_request(port.request_id)``)."""
        return self.requests[0] if self.requests else ""

    def set_status(self, status: str) -> None:
        """The server's side: a new status, told to whoever waits."""
        with self._cond:
            if status != self.status:
                self.status = status
                self.history.append(status)
            self._cond.notify_all()

    def wait(self, timeout: float = 10.0, status: str = PORT_STATUS_ACTIVE) -> str:
        """Wait until the port has ``status`` (ACTIVE); return the status it has then."""
        with self._cond:
            self._cond.wait_for(lambda: self.status == status, timeout)
            return self.status

    def as_dict(self) -> dict:
        return {"id": self.id, "network_id": self.network_id, "device_id": self.device_id,
                "device_owner": self.device_owner, "mac_address": self.mac_address,
                "status": self.status, "admin_state_up": True,
                "fixed_ips": [{"ip_address": self.ip_address}] if self.ip_address else [],
                "binding:host_id": self.host, "binding:vif_type": self.vif_type}


@dataclass(eq=False)
class Router:
    """A router; ``host`` is the L3 agent it is scheduled to, ``interfaces`` its ports."""

    id: str
    name: str
    host: str = ""
    interfaces: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """As ``sync_routers`` returns it: ``_interfaces`` is ``neutron_lib``'s
        ``INTERFACE_KEY``."""
        return {"id": self.id, "name": self.name, "status": "ACTIVE",
                "admin_state_up": True, "_interfaces": list(self.interfaces)}
