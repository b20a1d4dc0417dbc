"""The facade a lesson uses: a whole Neutron deployment, and its API.

Nova talks to Neutron over HTTP (``create_port``, ``update_port`` with a
``caller``), and Neutron answers Nova over HTTP too (``set_nova_callback``): those
requests appear in the trace as ``http`` hops, never on the broker.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from ...i18n import _
from ...trace import Trace
from ..cloud import Cloud
from ..service import Service, cleanup_together, record_http
from .agent import NeutronAgent
from .agents_db import Agent
from .conf import NeutronTimings
from .constants import AGENT_PROCESS_OVS
from .context import request_context
from .dhcp_agent import DHCPAgent
from .exceptions import NotFound
from .l3_agent import L3Agent
from .ovs_agent import OVSAgent
from .resources import Network, Port, Router
from .server import NeutronServer


class NeutronCloud(Cloud):
    """neutron-server on a controller, an OVS agent on every node, DHCP and L3 agents on
    the network nodes; all on exchange ``neutron``.

    >>> with NeutronCloud(compute_hosts=["compute1", "compute2"], timings="zero") as net:
    ...     port = net.wire_port("compute1", device_id="vm1")
    ...     port.wait()
    'ACTIVE'

    Nova talks to Neutron over HTTP (``create_port``, ``update_port`` with a
    ``caller``), and Neutron answers Nova over HTTP too (``set_nova_callback``): those
    requests appear in the trace as ``http`` hops, never on the broker.
    """

    def __init__(self, url: str | None = None, trace: Trace | None = None,
                 network_nodes: Iterable[str] = ("network1",),
                 compute_hosts: Iterable[str] = ("compute1", "compute2"),
                 timings: NeutronTimings | dict | str | None = None,
                 controller: str = "controller", notifications: bool = False,
                 options: dict | None = None) -> None:
        super().__init__(url, trace)
        self.timings = NeutronTimings.coerce(timings)
        self.network_nodes = list(dict.fromkeys(network_nodes))
        self.compute_hosts = list(dict.fromkeys(compute_hosts))
        common = dict(url=url, trace=self.trace, timings=self.timings, options=options)
        self.server = NeutronServer(controller, notifications=notifications, **common)
        hosts = list(dict.fromkeys([*self.network_nodes, *self.compute_hosts]))
        self.l2_agents = {host: OVSAgent(host, **common) for host in hosts}
        self.dhcp_agents = {host: DHCPAgent(host, **common) for host in self.network_nodes}
        self.l3_agents = {host: L3Agent(host, **common) for host in self.network_nodes}
        self._default_network: Network | None = None

    def __repr__(self) -> str:
        return (f"<NeutronCloud {len(self.l2_agents)} L2 agents, "
                f"{len(self.dhcp_agents)} DHCP, {len(self.l3_agents)} L3>")

    @property
    def agent_services(self) -> list[NeutronAgent]:
        return [*self.l2_agents.values(), *self.dhcp_agents.values(),
                *self.l3_agents.values()]

    @property
    def services(self) -> list[Service]:
        return [self.server, *self.agent_services]

    # -- life cycle ----------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> NeutronCloud:
        """Start the server, then the agents; return once every agent has registered
        (its first ``report_state``) and done its first sync."""
        self._check_startable()
        self.server.start()
        for agent in self.agent_services:
            agent.start()
        deadline = time.monotonic() + timeout
        for agent in self.agent_services:
            agent.synced.wait(max(0.0, deadline - time.monotonic()))
        return self

    def stop(self) -> None:
        """Stop every process and close its connections: the agents (together, as
        separate machines would), then the server."""
        self._stopped = True
        cleanup_together(self.agent_services)
        self.server.cleanup()

    def agents(self) -> list[Agent]:
        """``openstack network agent list``, as neutron-server sees it."""
        return self.server.agents()

    # -- Nova ------------------------------------------------------------------------------

    def set_nova_callback(self, callback: Callable[[list[dict]], Any] | None,
                          callee: str = "nova-api") -> None:
        """Call ``callback(events)`` where Neutron ``POST``s to nova-api's
        ``/v2.1/os-server-external-events`` (``network-vif-plugged``...): the request is
        traced as ``http`` from neutron-server to ``callee``, never sent to the broker."""
        self.server.nova.callback = callback
        self.server.nova.nova_api = callee

    # -- the API ---------------------------------------------------------------------------

    def _ctxt(self, caller: Service | str | None, method: str, path: str) -> dict:
        ctxt = request_context()
        record_http(self.trace, caller or "openstack", self.server.name, method, path,
                    ctxt["request_id"])
        return ctxt

    def create_network(self, name: str = "private",
                       caller: Service | str | None = None) -> Network:
        """``POST /v2.0/networks``: no message to any agent yet (see DhcpAgentNotifyAPI)."""
        return self.server.create_network(self._ctxt(caller, "POST", "/v2.0/networks"), name)

    def default_network(self) -> Network:
        if self._default_network is None or \
                self._default_network.id not in self.server.db.networks:
            self._default_network = self.create_network("private")
        return self._default_network

    def update_network(self, network_id: str, caller: Service | str | None = None,
                       **attrs: Any) -> Network:
        """``PUT``: a ``network_update`` fanout to every L2 agent."""
        return self.server.update_network(
            self._ctxt(caller, "PUT", f"/v2.0/networks/{network_id}"), network_id, **attrs)

    def delete_network(self, network_id: str, caller: Service | str | None = None) -> None:
        """``DELETE``: ``network_delete`` fanout to L2 agents and ``network_delete_end``
        fanout to DHCP agents."""
        self.server.delete_network(
            self._ctxt(caller, "DELETE", f"/v2.0/networks/{network_id}"), network_id)

    def create_port(self, network_id: str | None = None, host: str | None = None,
                    device_id: str = "", device_owner: str = "compute:nova",
                    caller: Service | str | None = None) -> Port:
        """``POST /v2.0/ports`` (``openstack port create``); ``host`` sets
        ``binding:host_id``.  The first port of a network schedules it to a DHCP agent."""
        network_id = network_id or self.default_network().id
        return self.server.create_port(self._ctxt(caller, "POST", "/v2.0/ports"), network_id,
                                       device_id, device_owner, host or "")

    def update_port(self, port_id: str, host: str | None = None,
                    caller: Service | str | None = None, **attrs: Any) -> Port:
        """``PUT /v2.0/ports/<id>`` (Nova binds a port this way): ``port_update`` fanout."""
        return self.server.update_port(self._ctxt(caller, "PUT", f"/v2.0/ports/{port_id}"),
                                        port_id, host, **attrs)

    def delete_port(self, port_id: str, caller: Service | str | None = None) -> None:
        self.server.delete_port(self._ctxt(caller, "DELETE", f"/v2.0/ports/{port_id}"),
                                port_id)

    def plug_vif(self, port_id: str, host: str | None = None) -> None:
        """What Nova's virt driver does on the compute node (os-vif): plug the tap device
        into br-int.  Local, no message; the host's OVS agent notices and wires it."""
        port = self.server.get_port(port_id)
        host = host or port.host
        agent = self.l2_agents.get(host)
        if agent is None:
            raise NotFound(_("No service {binary} on host {host} in this cloud.",
                             binary=AGENT_PROCESS_OVS, host=host))
        agent.plug(port_id)

    def wire_port(self, host: str, device_id: str = "", network_id: str | None = None,
                  caller: Service | str | None = None) -> Port:
        """Nova's sequence for one interface: create the port, bind it to ``host``
        (``PUT``: fanout ``port_update``), plug the tap device; the agent then makes it
        ACTIVE and Neutron tells Nova ``network-vif-plugged``."""
        port = self.create_port(network_id, device_id=device_id or f"vm-{uuid.uuid4()}",
                                caller=caller)
        self.update_port(port.id, host=host, caller=caller)
        agent = self.l2_agents.get(host)
        if agent is not None and agent.running:  # Nova plugs long after the PUT
            agent.wait_received(lambda method, args: method == "port_update"
                                and args["port"]["id"] == port.id, timeout=2)
        self.plug_vif(port.id, host)
        return port

    def create_router(self, name: str = "router1",
                      caller: Service | str | None = None) -> Router:
        return self.server.create_router(self._ctxt(caller, "POST", "/v2.0/routers"), name)

    def add_router_interface(self, router_id: str, network_id: str | None = None,
                             caller: Service | str | None = None) -> Router:
        """``openstack router add subnet``: schedules the router, ``routers_updated`` cast
        to ``l3_agent.<host>``, then the agent calls ``sync_routers``."""
        network_id = network_id or self.default_network().id
        return self.server.add_router_interface(
            self._ctxt(caller, "PUT", f"/v2.0/routers/{router_id}/add_router_interface"),
            router_id, network_id)

    def remove_router_interface(self, router_id: str, network_id: str | None = None,
                                caller: Service | str | None = None) -> Router:
        """``openstack router remove subnet``: the interface's port is deleted
        (``port_delete`` fanout), and the router's L3 agent gets ``routers_updated``."""
        network_id = network_id or self.default_network().id
        return self.server.remove_router_interface(
            self._ctxt(caller, "PUT", f"/v2.0/routers/{router_id}/remove_router_interface"),
            router_id, network_id)

    def delete_router(self, router_id: str, caller: Service | str | None = None) -> None:
        """``openstack router delete``: refused while it has interfaces
        (:class:`RouterInUse`); then ``router_deleted`` fans out to every L3 agent."""
        self.server.delete_router(self._ctxt(caller, "DELETE", f"/v2.0/routers/{router_id}"),
                                  router_id)
