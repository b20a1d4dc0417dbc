"""neutron-server's database: networks, ports, routers, which DHCP agents serve which
network, and the agents table.

Only neutron-server reads and writes it: agents ask the server over RPC (``q-plugin``,
``q-l3-plugin``), never the database, so everything an agent knows crossed the bus.
"""

from __future__ import annotations

import threading
import uuid

from ...i18n import _
from .agents_db import AgentsDb
from .exceptions import NotFound
from .resources import Network, Port, Router


class NeutronDb:
    """The tables, behind one lock (the RPC threads and the API share them)."""

    def __init__(self, agent_down_time: float) -> None:
        self.lock = threading.RLock()
        self.networks: dict[str, Network] = {}
        self.ports: dict[str, Port] = {}
        self.routers: dict[str, Router] = {}
        #: ``networkdhcpagentbindings``: network id -> the hosts of its DHCP agents.
        self.network_dhcp: dict[str, list[str]] = {}
        self.agents = AgentsDb(agent_down_time)
        self._next_segment = 1000
        self._next_ip = 2

    # -- rows -----------------------------------------------------------------------------

    def add_network(self, name: str) -> Network:
        with self.lock:
            network = Network(str(uuid.uuid4()), name, self._next_segment)
            self._next_segment += 1
            self.networks[network.id] = network
        return network

    def add_port(self, network: Network, device_id: str, device_owner: str) -> Port:
        """A port with the next MAC (``fa:16:3e:...``, OpenStack's prefix) and IP."""
        with self.lock:
            number = self._next_ip
            self._next_ip += 1
            port = Port(str(uuid.uuid4()), network.id, device_id, device_owner,
                        mac_address=f"fa:16:3e:{(number >> 16) & 255:02x}:"
                                    f"{(number >> 8) & 255:02x}:{number & 255:02x}",
                        ip_address=f"{network.cidr.rsplit('.', 1)[0]}.{number % 250 + 2}")
            self.ports[port.id] = port
        return port

    def add_router(self, name: str) -> Router:
        with self.lock:
            router = Router(str(uuid.uuid4()), name)
            self.routers[router.id] = router
        return router

    def get_network(self, network_id: str) -> Network:
        with self.lock:
            network = self.networks.get(network_id)
        if network is None:
            raise NotFound(_("No network {network_id} in this cloud.", network_id=network_id))
        return network

    def get_port(self, port_id: str) -> Port:
        with self.lock:
            port = self.ports.get(port_id)
        if port is None:
            raise NotFound(_("No port {port_id} in this cloud.", port_id=port_id))
        return port

    def get_router(self, router_id: str) -> Router:
        with self.lock:
            router = self.routers.get(router_id)
        if router is None:
            raise NotFound(_("No router {router_id} in this cloud.", router_id=router_id))
        return router

    # -- what agents ask for ---------------------------------------------------------------

    def network_info(self, network: Network) -> dict:
        """A network with its subnets and ports, as ``get_network_info`` returns it."""
        with self.lock:
            ports = [p.as_dict() for p in self.ports.values() if p.network_id == network.id]
        return {**network.as_dict(), "ports": ports,
                "subnets": [{"id": network.subnet_id, "cidr": network.cidr,
                             "enable_dhcp": True}]}

    def dhcp_hosts(self, network_id: str) -> list[str]:
        """The hosts of the DHCP agents that serve ``network_id``."""
        with self.lock:
            return list(self.network_dhcp.get(network_id, []))

    def networks_of_dhcp(self, host: str) -> list[Network]:
        """The networks the DHCP agent of ``host`` serves."""
        with self.lock:
            return [self.networks[n] for n, hosts in self.network_dhcp.items()
                    if host in hosts and n in self.networks]

    def routers_of(self, host: str, router_ids: list[str] | None = None) -> list[Router]:
        """The routers scheduled to the L3 agent of ``host`` (among ``router_ids``)."""
        with self.lock:
            return [r for r in self.routers.values() if r.host == host
                    and (router_ids is None or r.id in router_ids)]
