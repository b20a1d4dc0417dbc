"""neutron-server: the API, ML2 and the RPC workers, on the controller.

Its RPC servers (``neutron/plugins/ml2/plugin.py:start_rpc_listeners`` and
``neutron/services/l3_router/l3_router_plugin.py``) each have their own endpoints:
``q-plugin`` (ML2 and DHCP callbacks), ``q-server-resource-versions`` (what the
servers fan out to each other: the object versions of each agent),
``q-reports-plugin`` (state reports) and ``q-l3-plugin`` (L3 callbacks).  Upstream
runs them in ``rpc_workers`` processes (and ``rpc_state_report_workers`` for reports);
the lab runs one of each.

The API methods are what ``POST``/``PUT``/``DELETE /v2.0/...`` do: change the database,
then cast to the agents that must hear of it (:mod:`.notifiers`), and send
``<resource>.<action>.start|end`` notifications when a driver is set.
"""

from __future__ import annotations

from typing import Any

from ... import rpc
from ...i18n import _
from ...trace import Trace
from ..service import Service
from .agents_db import Agent
from .conf import NeutronTimings
from .constants import (
    AGENT_TYPE_OVS,
    CONTROL_EXCHANGE,
    DEVICE_OWNER_COMPUTE_PREFIX,
    DEVICE_OWNER_ROUTER_INTF,
    L3PLUGIN,
    PLUGIN,
    REPORTS,
    SERVER_RESOURCE_VERSIONS,
)
from .db import NeutronDb
from .exceptions import NeutronUnavailable, NotFound, RouterInUse
from .handlers import (
    AgentExtRpcCallback,
    DhcpRpcCallback,
    L3RpcCallback,
    ResourcesPushToServerRpcCallback,
    ResourceVersions,
    RpcCallbacks,
)
from .notifiers import (
    AgentNotifierApi,
    DhcpAgentNotifyAPI,
    L3AgentNotifyAPI,
    ResourcesPushToServersRpcApi,
)
from .nova_notifier import Notifier
from .resources import Network, Port, Router


class NeutronServer(Service):
    """neutron-server (see the module's docstring).

    Agents are alive while their last report is younger than ``agent_down_time``
    (:mod:`.agents_db`); a health check logs the dead ones every ``agent_down_time / 2``.
    """

    binary = "neutron-server"
    topic = PLUGIN
    control_exchange = CONTROL_EXCHANGE

    def __init__(self, host: str = "controller", url: str | None = None,
                 trace: Trace | None = None, timings: NeutronTimings | None = None,
                 notifications: bool = False, options: dict | None = None,
                 dhcp_agents_per_network: int = 1) -> None:
        self.timings = timings or NeutronTimings()
        options = {"rpc_response_timeout": self.timings.rpc_response_timeout, **(options or {})}
        super().__init__(host, url, trace, options)
        self.db = NeutronDb(self.timings.agent_down_time)
        self.nova = Notifier(self, self.timings.send_events_interval)
        self.agent_notifier = AgentNotifierApi(self.transport)
        self.dhcp_notifier = DhcpAgentNotifyAPI(self.transport, self.db,
                                                dhcp_agents_per_network)
        self.l3_notifier = L3AgentNotifyAPI(self.transport, self.db)
        self.server_versions_rpc = ResourcesPushToServersRpcApi(self.transport)
        #: The object versions each agent understands, (agent type, host) -> {type: version}:
        #: from its own reports, or from another server through the fanout.
        self.resource_versions: ResourceVersions = {}
        #: ``neutron_lib/rpc.py:get_notifier('network')``: publisher ``network.<host>``.
        self.notifier = rpc.get_notifier(self.transport, publisher_id=f"network.{host}",
                                         driver="messagingv2" if notifications else "noop")

    # -- RPC servers, each with its own endpoints ---------------------------------------

    def listeners(self) -> list[tuple[rpc.Target, list[Any]]]:
        reports = AgentExtRpcCallback(self.db, self.resource_versions,
                                      self.server_versions_rpc)
        return [
            (rpc.Target(topic=PLUGIN, server=self.host),
             [RpcCallbacks(self.db, self.nova), DhcpRpcCallback(self.db)]),
            (rpc.Target(topic=SERVER_RESOURCE_VERSIONS, server=self.host),
             [ResourcesPushToServerRpcCallback(self.resource_versions)]),
            (rpc.Target(topic=REPORTS, server=self.host), [reports]),
            (rpc.Target(topic=L3PLUGIN, server=self.host), [L3RpcCallback(self.db)]),
        ]

    def on_start(self) -> None:
        if self.timings.agent_down_time > 0:
            self.every(self.timings.agent_down_time / 2, self.db.agents.agent_health_check,
                       "agent_health_check")
        if self.timings.send_events_interval > 0:
            self.every(self.timings.send_events_interval, self.nova.send_events,
                       "send_events")

    def on_stop(self) -> None:
        self.nova.send_events()

    # -- agents ----------------------------------------------------------------------------

    def agents(self) -> list[Agent]:
        """``openstack network agent list``: alive while the last report is recent enough."""
        return self.db.agents.agents()

    @property
    def dead_agents(self) -> list[tuple[str, str]]:
        """The agents the health check found dead, in order: (binary, host)."""
        return self.db.agents.dead_agents

    # -- the API (called over HTTP by clients and by Nova) ------------------------------

    def _check_running(self) -> None:
        if not self.running:
            raise NeutronUnavailable(_("{service} is stopped: its API does not answer.",
                                       service=self.name))

    def _notify(self, ctxt: dict, event_type: str, payload: dict) -> None:
        """``neutron/api/v2/base.py``: ``<resource>.<action>.start|end`` notifications."""
        self.notifier.info(ctxt, event_type, payload)

    def get_port(self, port_id: str) -> Port:
        return self.db.get_port(port_id)

    def get_network(self, network_id: str) -> Network:
        return self.db.get_network(network_id)

    def create_network(self, ctxt: dict, name: str) -> Network:
        self._check_running()
        self._notify(ctxt, "network.create.start", {"network": {"name": name}})
        network = self.db.add_network(name)
        self._notify(ctxt, "network.create.end", {"network": network.as_dict()})
        return network

    def update_network(self, ctxt: dict, network_id: str, **attrs: Any) -> Network:
        self._check_running()
        network = self.db.get_network(network_id)
        self._notify(ctxt, "network.update.start", {"network": attrs, "id": network_id})
        if "name" in attrs:
            network.name = attrs["name"]
        self.agent_notifier.network_update(ctxt, network.as_dict())
        self.dhcp_notifier.notify(ctxt, "network_update_end", {"network": network.as_dict()},
                                  network_id)
        self._notify(ctxt, "network.update.end", {"network": network.as_dict()})
        return network

    def delete_network(self, ctxt: dict, network_id: str) -> None:
        self._check_running()
        network = self.db.get_network(network_id)
        self._notify(ctxt, "network.delete.start", {"network_id": network_id})
        with self.db.lock:
            for port in [p for p in self.db.ports.values() if p.network_id == network_id]:
                del self.db.ports[port.id]
            del self.db.networks[network_id]
            self.db.network_dhcp.pop(network_id, None)
        self.agent_notifier.network_delete(ctxt, network_id)
        self.dhcp_notifier.notify(ctxt, "network_delete_end", {"network_id": network_id},
                                  network_id)
        self._notify(ctxt, "network.delete.end", {"network_id": network_id,
                                                  "network": network.as_dict()})

    def create_port(self, ctxt: dict, network_id: str, device_id: str = "",
                    device_owner: str = "", host: str = "") -> Port:
        """ML2's ``create_port``: binds the port if a host is given, tells the DHCP agents,
        and sends **no** ``port_update`` to the L2 agents (``_bind_port_if_needed`` runs
        with ``allow_notify=False`` after a create); the agent finds the port when the
        tap device appears on its bridge."""
        self._check_running()
        network = self.db.get_network(network_id)
        self._notify(ctxt, "port.create.start", {"port": {
            "network_id": network_id, "device_id": device_id, "device_owner": device_owner}})
        port = self.db.add_port(network, device_id, device_owner)
        with self.db.lock:
            port.requests.append(ctxt["request_id"])
            if host:
                self._bind(port, host)
        self.dhcp_notifier.notify(ctxt, "port_create_end", {"port": port.as_dict()},
                                  network_id)
        self._notify(ctxt, "port.create.end", {"port": port.as_dict()})
        return port

    def _bind(self, port: Port, host: str) -> None:
        """ML2 binds through the OVS mechanism driver only if an alive OVS agent runs on
        the host (``neutron/plugins/ml2/drivers/mech_agent.py``), else ``binding_failed``."""
        port.host = host
        port.vif_type = "ovs" if host in self.db.agents.alive_hosts(AGENT_TYPE_OVS) else \
            "binding_failed"

    def update_port(self, ctxt: dict, port_id: str, host: str | None = None,
                    **attrs: Any) -> Port:
        """ML2's ``update_port``: a (re)binding or any change ends with a ``port_update``
        fanout cast to every L2 agent (``_notify_port_updated``)."""
        self._check_running()
        port = self.db.get_port(port_id)
        body = dict(attrs, **({"binding:host_id": host} if host is not None else {}))
        self._notify(ctxt, "port.update.start", {"port": body, "id": port_id})
        with self.db.lock:
            port.requests.append(ctxt["request_id"])
            for name in ("device_id", "device_owner"):
                if name in attrs:
                    setattr(port, name, attrs[name])
            if host is not None:
                self._bind(port, host)
        network = self.db.get_network(port.network_id)
        self.agent_notifier.port_update(ctxt, port.as_dict(), network.network_type,
                                        network.segmentation_id, None)
        self.dhcp_notifier.notify(ctxt, "port_update_end", {"port": port.as_dict()},
                                  port.network_id)
        self._notify(ctxt, "port.update.end", {"port": port.as_dict()})
        return port

    def delete_port(self, ctxt: dict, port_id: str) -> None:
        self._check_running()
        port = self.db.get_port(port_id)
        self._notify(ctxt, "port.delete.start", {"port_id": port_id})
        with self.db.lock:
            del self.db.ports[port_id]
        self.agent_notifier.port_delete(ctxt, port_id)
        self.dhcp_notifier.notify(ctxt, "port_delete_end", {"port_id": port_id,
                                                            "network_id": port.network_id},
                                  port.network_id)
        if port.device_owner.startswith(DEVICE_OWNER_COMPUTE_PREFIX) and port.device_id:
            self.nova.queue_event("network-vif-deleted", port.device_id, port_id,
                                  ctxt["request_id"])
        self._notify(ctxt, "port.delete.end", {"port_id": port_id, "port": port.as_dict()})

    def create_router(self, ctxt: dict, name: str) -> Router:
        """A router without interface nor gateway is not scheduled: no agent hears of it."""
        self._check_running()
        self._notify(ctxt, "router.create.start", {"router": {"name": name}})
        router = self.db.add_router(name)
        self._notify(ctxt, "router.create.end", {"router": router.as_dict()})
        return router

    def add_router_interface(self, ctxt: dict, router_id: str, network_id: str) -> Router:
        """``l3_db.py:add_router_interface``: a port for the router, then the router is
        scheduled and its L3 agent gets ``routers_updated``."""
        self._check_running()
        router = self.db.get_router(router_id)
        port = self.create_port(ctxt, network_id, router_id, DEVICE_OWNER_ROUTER_INTF)
        with self.db.lock:
            router.interfaces.append(port.id)
        self.l3_notifier.routers_updated(ctxt, [router_id])
        self._notify(ctxt, "router.interface.create", {"router_interface": {
            "id": router_id, "port_id": port.id, "network_id": network_id}})
        return router

    def remove_router_interface(self, ctxt: dict, router_id: str, network_id: str) -> Router:
        """``l3_db.py:remove_router_interface``: the router's port on the network is
        deleted (so ``port_delete`` to the L2 agents), then ``routers_updated`` to its
        L3 agent."""
        self._check_running()
        router = self.db.get_router(router_id)
        with self.db.lock:
            port = next((self.db.ports[p] for p in router.interfaces
                         if p in self.db.ports and self.db.ports[p].network_id == network_id),
                        None)
        if port is None:
            raise NotFound(_("Router {router_id} has no interface on network {network_id}.",
                             router_id=router_id, network_id=network_id))
        self.delete_port(ctxt, port.id)
        with self.db.lock:
            router.interfaces.remove(port.id)
        self.l3_notifier.routers_updated(ctxt, [router_id])
        self._notify(ctxt, "router.interface.delete", {"router_interface": {
            "id": router_id, "port_id": port.id, "network_id": network_id}})
        return router

    def delete_router(self, ctxt: dict, router_id: str) -> None:
        """``l3_db.py:delete_router``: refused while interfaces remain; then
        ``router_deleted`` is fanned out to every L3 agent."""
        self._check_running()
        router = self.db.get_router(router_id)
        if router.interfaces:
            raise RouterInUse(_("Router {router_id} has ports still attached: {ports}.",
                                router_id=router_id, ports=", ".join(router.interfaces)))
        self._notify(ctxt, "router.delete.start", {"router_id": router_id})
        with self.db.lock:
            del self.db.routers[router_id]
        self.l3_notifier.router_deleted(ctxt, router_id)
        self._notify(ctxt, "router.delete.end", {"router_id": router_id})
