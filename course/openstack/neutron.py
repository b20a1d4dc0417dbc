"""Neutron on the bus: neutron-server and its Open vSwitch, DHCP and L3 agents.

Neutron sets its own control exchange, ``neutron`` (``neutron/common/config.py``:
``set_transport_defaults(control_exchange='neutron')``).  Its topics are the
constants of ``neutron_lib/agent/topics.py``; who talks to whom:

=======================  ===========================================  =======================
from → to                topic (routing key)                          message
=======================  ===========================================  =======================
server → all L2 agents   ``q-agent-notifier-port-update`` (fanout),   cast ``port_update``...
                         ``-port-delete``, ``-network-update``...
server → a DHCP agent    ``dhcp_agent.<host>``                        cast ``port_create_end``
server → an L3 agent     ``l3_agent.<host>``                          cast ``routers_updated``
agents → server          ``q-plugin``                                 call
                                                                      ``update_device_list``...
agents → server          ``q-reports-plugin``, every 30 s             call ``report_state``
L3 agents → server       ``q-l3-plugin``                              call ``sync_routers``
server → Nova            HTTP ``os-server-external-events``           never over the bus
=======================  ===========================================  =======================

Every agent RPC server is an oslo.messaging server on ``Target(topic=T, server=host)``
(``neutron_lib/rpc.py:Connection.create_consumer``), so it declares ``T``,
``T.<host>`` *and* its own ``T_fanout_<uuid>`` queue: an L2 agent that listens to five
notifier topics owns five fanout queues, which is why Neutron fills a RabbitMQ with
``*_fanout_*`` queues.

Start with :class:`NeutronCloud`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .. import rpc
from ..i18n import _
from ..trace import Trace
from .cloud import APIUnavailable, Cloud, NotFound
from .service import Service, cleanup_together, coerce_timings, record_http

LOG = logging.getLogger(__name__)

#: ``neutron/common/config.py``: ``set_transport_defaults(control_exchange='neutron')``.
CONTROL_EXCHANGE = "neutron"

# -- neutron_lib/agent/topics.py ------------------------------------------------------------
AGENT = "q-agent-notifier"
PLUGIN = "q-plugin"
REPORTS = "q-reports-plugin"
L3PLUGIN = "q-l3-plugin"
SERVER_RESOURCE_VERSIONS = "q-server-resource-versions"
DHCP = "q-dhcp-notifer"  # sic, upstream's spelling
L3_AGENT = "l3_agent"
DHCP_AGENT = "dhcp_agent"
METERING_AGENT = "metering_agent"

NETWORK = "network"
SUBNET = "subnet"
PORT = "port"
SECURITY_GROUP = "security_group"
TUNNEL = "tunnel"  # neutron_lib/constants.py (plugin constants)

CREATE = "create"
UPDATE = "update"
DELETE = "delete"

# -- neutron_lib/constants.py -----------------------------------------------------------------
#: Both namespaces are ``None`` upstream ("Re-define the RPC namespaces once Oslo messaging
#: supports Targets with multiple namespaces"), so no ``namespace`` travels on the wire.
RPC_NAMESPACE_STATE: str | None = None
RPC_NAMESPACE_DHCP_PLUGIN: str | None = None

AGENT_PROCESS_OVS = "neutron-openvswitch-agent"
AGENT_PROCESS_DHCP = "neutron-dhcp-agent"
AGENT_PROCESS_L3 = "neutron-l3-agent"
AGENT_TYPE_OVS = "Open vSwitch agent"
AGENT_TYPE_DHCP = "DHCP agent"
AGENT_TYPE_L3 = "L3 agent"
L2_AGENT_TOPIC = "N/A"

AGENT_NEW = "new"
AGENT_ALIVE = "alive"
AGENT_REVIVED = "revived"

PORT_STATUS_ACTIVE = "ACTIVE"
PORT_STATUS_BUILD = "BUILD"
PORT_STATUS_DOWN = "DOWN"

DEVICE_OWNER_COMPUTE_PREFIX = "compute:"
DEVICE_OWNER_DHCP = "network:dhcp"
DEVICE_OWNER_ROUTER_INTF = "network:router_interface"

ISO8601_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def get_topic_name(prefix: str, table: str, operation: str, host: str | None = None) -> str:
    """``neutron_lib/agent/topics.py:get_topic_name``: ``q-agent-notifier-port-update``."""
    if host:
        return f"{prefix}-{table}-{operation}.{host}"
    return f"{prefix}-{table}-{operation}"


# --------------------------------------------------------------------------- timings


@dataclass(frozen=True)
class NeutronTimings:
    """The clocks of a Neutron deployment, upstream's defaults unless changed.

    ``NeutronTimings.zero()`` (or ``timings="zero"``) removes every wait: no periodic
    state report (only the first one, which registers the agent), agents never
    declared dead, no simulated work.
    """

    #: ``[AGENT] report_interval`` (``neutron/conf/agent/common.py``). 0: only the first report.
    report_interval: float = 30.0
    #: ``[DEFAULT] agent_down_time`` (``neutron/conf/agent/database/agents_db.py``).
    #: 0: never declare an agent dead.
    agent_down_time: float = 75.0
    #: ``[DEFAULT] rpc_response_timeout`` of oslo.messaging.
    rpc_response_timeout: float = 60.0
    #: ``[DEFAULT] send_events_interval``: neutron-server batches its events for Nova
    #: (``neutron/notifiers/batch_notifier.py``). 0: send at once.
    send_events_interval: float = 2.0
    #: Simulated: how long an OVS agent takes to wire a port (flows, VLAN tag).
    port_wiring: float = 0.05

    @classmethod
    def zero(cls) -> NeutronTimings:
        return cls(report_interval=0, agent_down_time=0, send_events_interval=0,
                   port_wiring=0)

    @classmethod
    def coerce(cls, value: NeutronTimings | dict | str | None) -> NeutronTimings:
        return coerce_timings(cls, value)


# --------------------------------------------------------------------------- helpers


def request_context(is_admin: bool = False, project_id: str | None = "demo",
                    user_id: str | None = "demo") -> dict:
    """A Neutron request context as it travels in ``_context_*`` entries."""
    return {"request_id": f"req-{uuid.uuid4()}", "user_id": user_id,
            "project_id": project_id, "tenant_id": project_id, "is_admin": is_admin,
            "roles": ["admin"] if is_admin else ["member", "reader"],
            "timestamp": datetime.now(timezone.utc).strftime(ISO8601_TIME_FORMAT)}


class _Waitable:
    """A status and its history, that another thread can wait on."""

    def _init_status(self, status: str) -> None:
        self._cond = threading.Condition()
        self.status = status
        self.history: list[str] = [status]

    def _set_status(self, status: str) -> None:
        with self._cond:
            if status != self.status:
                self.status = status
                self.history.append(status)
            self._cond.notify_all()

    def _wait_for(self, wanted: Iterable[str], timeout: float) -> str:
        wanted = tuple(wanted)
        with self._cond:
            self._cond.wait_for(lambda: self.status in wanted, timeout)
            return self.status


# --------------------------------------------------------------------------- resources


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
class Port(_Waitable):
    """A port: ``history`` is its statuses (DOWN, BUILD, ACTIVE), ``wait()`` waits for one."""

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
        self._init_status(PORT_STATUS_DOWN)

    def __repr__(self) -> str:
        return (f"<Port {self.id[:8]} {self.status} host={self.host or '-'} "
                f"vif_type={self.vif_type}>")

    @property
    def request_id(self) -> str:
        """The request that created the port (``trace.for_request(port.request_id)``)."""
        return self.requests[0] if self.requests else ""

    def wait(self, timeout: float = 10.0, status: str = PORT_STATUS_ACTIVE) -> str:
        """Wait until the port has ``status`` (ACTIVE); return the status it has then."""
        return self._wait_for((status,), timeout)

    def as_dict(self) -> dict:
        return {"id": self.id, "network_id": self.network_id, "device_id": self.device_id,
                "device_owner": self.device_owner, "mac_address": self.mac_address,
                "status": self.status, "admin_state_up": True,
                "fixed_ips": [{"ip_address": self.ip_address}] if self.ip_address else [],
                "binding:host_id": self.host, "binding:vif_type": self.vif_type}


@dataclass(eq=False)
class Router:
    id: str
    name: str
    host: str = ""  # the L3 agent it is scheduled to
    interfaces: list[str] = field(default_factory=list)  # port ids

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "status": "ACTIVE",
                "admin_state_up": True, "_interfaces": list(self.interfaces)}


@dataclass
class _AgentRecord:
    agent_type: str
    binary: str
    host: str
    topic: str
    configurations: dict
    started_at: float
    heartbeat: float  # time.monotonic() of the last report
    was_dead: bool = False


@dataclass(frozen=True)
class Agent:
    """One row of ``openstack network agent list``."""

    agent_type: str
    host: str
    binary: str
    alive: bool
    last_heartbeat: float  # seconds ago

    def __repr__(self) -> str:
        return (f"<Agent {self.binary} {self.host} "
                f"{':-)' if self.alive else 'XXX'} {self.last_heartbeat:.1f}s ago>")


class NeutronUnavailable(APIUnavailable):
    """neutron-server is stopped: its API does not answer either."""


# --------------------------------------------------------------------------- server side


class RpcCallbacks:
    """``neutron/plugins/ml2/rpc.py:RpcCallbacks``: what L2 agents call on ``q-plugin``."""

    target = rpc.Target(version="1.7")

    def __init__(self, server: NeutronServer) -> None:
        self.server = server

    def get_devices_details_list(self, ctxt: dict, devices: list, agent_id: str = "",
                                 host: str | None = None, **kwargs: Any) -> list[dict]:
        return [self.server._device_details(device, host) for device in devices]

    def update_device_list(self, ctxt: dict, devices_up: list | None = None,
                           devices_down: list | None = None, agent_id: str = "",
                           host: str | None = None, **kwargs: Any) -> dict:
        up = [d for d in devices_up or [] if self.server._device_up(ctxt, d, host)]
        down = [{"device": d, "exists": self.server._device_down(d)}
                for d in devices_down or []]
        return {"devices_up": up, "failed_devices_up": [],
                "devices_down": down, "failed_devices_down": []}


class DhcpRpcCallback:
    """``neutron/api/rpc/handlers/dhcp_rpc.py``: what DHCP agents call on ``q-plugin``."""

    target = rpc.Target(namespace=RPC_NAMESPACE_DHCP_PLUGIN, version="1.8")

    def __init__(self, server: NeutronServer) -> None:
        self.server = server

    def get_active_networks_info(self, ctxt: dict, host: str, **kwargs: Any) -> list[dict]:
        return [self.server._network_info(n) for n in self.server._networks_of_dhcp(host)]

    def get_network_info(self, ctxt: dict, network_id: str, host: str | None = None,
                         **kwargs: Any) -> dict | None:
        network = self.server.networks.get(network_id)
        return self.server._network_info(network) if network else None


class AgentExtRpcCallback:
    """``neutron/db/agents_db.py:AgentExtRpcCallback``: state reports on ``q-reports-plugin``."""

    target = rpc.Target(version="1.2", namespace=RPC_NAMESPACE_STATE)

    def __init__(self, server: NeutronServer) -> None:
        self.server = server

    def report_state(self, ctxt: dict, agent_state: dict, time: str = "",
                     **kwargs: Any) -> str:
        return self.server._register_agent(agent_state["agent_state"])

    def has_alive_neutron_server(self, ctxt: dict, **kwargs: Any) -> bool:
        return True


class L3RpcCallback:
    """``neutron/api/rpc/handlers/l3_rpc.py``: what L3 agents call on ``q-l3-plugin``."""

    target = rpc.Target(version="1.13")

    def __init__(self, server: NeutronServer) -> None:
        self.server = server

    def sync_routers(self, ctxt: dict, host: str, router_ids: list | None = None,
                     **kwargs: Any) -> list[dict]:
        with self.server._lock:
            routers = [r for r in self.server.routers.values() if r.host == host
                       and (router_ids is None or r.id in router_ids)]
            return [r.as_dict() for r in routers]

    def get_router_ids(self, ctxt: dict, host: str, **kwargs: Any) -> list[str]:
        with self.server._lock:
            return [r.id for r in self.server.routers.values() if r.host == host]


class AgentNotifierApi:
    """``neutron/plugins/ml2/rpc.py:AgentNotifierApi``: fanout casts to every L2 agent."""

    def __init__(self, transport: rpc.Transport, topic: str = AGENT) -> None:
        self.topic_port_update = get_topic_name(topic, PORT, UPDATE)
        self.topic_port_delete = get_topic_name(topic, PORT, DELETE)
        self.topic_network_update = get_topic_name(topic, NETWORK, UPDATE)
        self.topic_network_delete = get_topic_name(topic, NETWORK, DELETE)
        self.client = rpc.get_rpc_client(transport, rpc.Target(topic=topic, version="1.0"))

    def port_update(self, ctxt: dict, port: dict, network_type: str, segmentation_id: int,
                    physical_network: str | None) -> None:
        cctxt = self.client.prepare(topic=self.topic_port_update, fanout=True)
        cctxt.cast(ctxt, "port_update", port=port, network_type=network_type,
                   segmentation_id=segmentation_id, physical_network=physical_network)

    def port_delete(self, ctxt: dict, port_id: str) -> None:
        cctxt = self.client.prepare(topic=self.topic_port_delete, fanout=True)
        cctxt.cast(ctxt, "port_delete", port_id=port_id)

    def network_update(self, ctxt: dict, network: dict) -> None:
        cctxt = self.client.prepare(topic=self.topic_network_update, fanout=True,
                                    version="1.4")
        cctxt.cast(ctxt, "network_update", network=network)

    def network_delete(self, ctxt: dict, network_id: str) -> None:
        cctxt = self.client.prepare(topic=self.topic_network_delete, fanout=True)
        cctxt.cast(ctxt, "network_delete", network_id=network_id)


class DhcpAgentNotifyAPI:
    """``neutron/api/rpc/agentnotifiers/dhcp_rpc_agent_api.py``: casts to ``dhcp_agent.<host>``.

    Nothing is sent when a network is created ("we do nothing on network creation
    because we want to give the admin the chance to associate an agent to the
    network manually"): the network is scheduled to a DHCP agent with its first port
    (or subnet), and that agent then gets ``network_create_end``.  A network deletion
    is a fanout to every DHCP agent.  Casts go to every agent hosting the network,
    alive or not: a dead agent's queue keeps them.
    """

    def __init__(self, server: NeutronServer) -> None:
        self.server = server
        self.client = rpc.get_rpc_client(server.transport,
                                         rpc.Target(topic=DHCP_AGENT, version="1.0"))

    def notify(self, ctxt: dict, method: str, payload: dict, network_id: str) -> None:
        if method == "network_delete_end":
            self.client.prepare(fanout=True).cast(ctxt, method, payload=payload)
            return
        if method == "network_create_end":
            return
        hosts = self.server._dhcp_hosts(network_id)
        if not hosts and method in ("port_create_end", "subnet_create_end"):
            hosts = self.server._schedule_network(network_id)
            for host in hosts:
                self._cast(ctxt, "network_create_end", {"network": {"id": network_id}}, host)
        for host in hosts:
            self._cast(ctxt, method, payload, host)

    def _cast(self, ctxt: dict, method: str, payload: dict, host: str) -> None:
        self.client.prepare(topic=DHCP_AGENT, server=host).cast(ctxt, method, payload=payload)


class L3AgentNotifyAPI:
    """``neutron/api/rpc/agentnotifiers/l3_rpc_agent_api.py``: ``routers_updated`` to
    ``l3_agent.<host>``, scheduling the router first if no agent hosts it."""

    def __init__(self, server: NeutronServer) -> None:
        self.server = server
        self.client = rpc.get_rpc_client(server.transport,
                                         rpc.Target(topic=L3_AGENT, version="1.0"))

    def routers_updated(self, ctxt: dict, router_ids: list[str]) -> None:
        for router_id in router_ids:
            host = self.server._schedule_router(router_id)
            if host:
                cctxt = self.client.prepare(topic=L3_AGENT, server=host, version="1.1")
                cctxt.cast(ctxt, "routers_updated", routers=[router_id])

    def router_deleted(self, ctxt: dict, router_id: str, host: str) -> None:
        self.client.prepare(topic=L3_AGENT, server=host).cast(ctxt, "router_deleted",
                                                               router_id=router_id)


class NeutronServer(Service):
    """neutron-server: the API, ML2 and the RPC workers, on the controller.

    Its RPC servers (``neutron/plugins/ml2/plugin.py:start_rpc_listeners`` and
    ``neutron/services/l3_router/l3_router_plugin.py``) each have their own endpoints:
    ``q-plugin`` (ML2 and DHCP callbacks), ``q-reports-plugin`` (state reports) and
    ``q-l3-plugin`` (L3 callbacks).  Upstream runs them in ``rpc_workers`` processes
    (and ``rpc_state_report_workers`` for reports); the lab runs one of each.
    Agents are alive while their last report is younger than ``agent_down_time``
    (``neutron/db/agents_db.py``); a health check logs the dead ones every
    ``agent_down_time / 2``.
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
        self.dhcp_agents_per_network = dhcp_agents_per_network
        self._lock = threading.RLock()
        self.networks: dict[str, Network] = {}
        self.ports: dict[str, Port] = {}
        self.routers: dict[str, Router] = {}
        self._agents: dict[tuple[str, str], _AgentRecord] = {}
        self._network_dhcp: dict[str, list[str]] = {}
        self._next_segment = 1000
        self._next_ip = 2
        self._nova_events: list[tuple[dict, str]] = []
        #: Agents the health check found dead, in order: (binary, host).
        self.dead_agents: list[tuple[str, str]] = []
        self.nova_callback: Callable[[list[dict]], Any] | None = None
        self.nova_api = "nova-api"
        self.agent_notifier = AgentNotifierApi(self.transport)
        self.dhcp_notifier = DhcpAgentNotifyAPI(self)
        self.l3_notifier = L3AgentNotifyAPI(self)
        #: ``neutron_lib/rpc.py:get_notifier('network')``: publisher ``network.<host>``.
        self.notifier = rpc.get_notifier(self.transport, publisher_id=f"network.{host}",
                                         driver="messagingv2" if notifications else "noop")

    # -- RPC servers, each with its own endpoints ---------------------------------------

    def listeners(self) -> list[tuple[rpc.Target, list[Any]]]:
        return [
            (rpc.Target(topic=PLUGIN, server=self.host),
             [RpcCallbacks(self), DhcpRpcCallback(self)]),
            (rpc.Target(topic=REPORTS, server=self.host), [AgentExtRpcCallback(self)]),
            (rpc.Target(topic=L3PLUGIN, server=self.host), [L3RpcCallback(self)]),
        ]

    def on_start(self) -> None:
        if self.timings.agent_down_time > 0:
            self.every(self.timings.agent_down_time / 2, self.agent_health_check,
                       "agent_health_check")
        if self.timings.send_events_interval > 0:
            self.every(self.timings.send_events_interval, self._send_nova_events,
                       "send_events")

    def on_stop(self) -> None:
        self._send_nova_events()

    # -- agents ----------------------------------------------------------------------------

    def _register_agent(self, state: dict) -> str:
        key = (state["agent_type"], state["host"])
        now = time.monotonic()
        with self._lock:
            record = self._agents.get(key)
            if record is None:
                self._agents[key] = _AgentRecord(
                    state["agent_type"], state["binary"], state["host"],
                    state.get("topic", L2_AGENT_TOPIC), state.get("configurations", {}),
                    time.time(), now)
                return AGENT_NEW
            revived = not self._is_alive(record, now)
            record.heartbeat = now
            record.configurations = state.get("configurations", record.configurations)
            record.was_dead = False
            return AGENT_REVIVED if revived else AGENT_ALIVE

    def _is_alive(self, record: _AgentRecord, now: float | None = None) -> bool:
        down = self.timings.agent_down_time
        return down <= 0 or (now or time.monotonic()) - record.heartbeat <= down

    def agents(self) -> list[Agent]:
        """``openstack network agent list``: alive while the last report is recent enough."""
        now = time.monotonic()
        with self._lock:
            return [Agent(r.agent_type, r.host, r.binary, self._is_alive(r, now),
                          now - r.heartbeat) for r in self._agents.values()]

    def agent_health_check(self) -> None:
        """``agents_db.py:agent_health_check``: log the agents that stopped reporting."""
        now = time.monotonic()
        with self._lock:
            dead = [r for r in self._agents.values() if not self._is_alive(r, now)]
            new = [r for r in dead if not r.was_dead]
            for record in new:
                record.was_dead = True
                self.dead_agents.append((record.binary, record.host))
            total = len(self._agents)
        if dead:  # upstream logs a warning at every check; the lab only for news
            LOG.log(logging.WARNING if new else logging.DEBUG,
                    "Agent healthcheck: found %d dead agents out of %d:\n%s", len(dead),
                    total, "\n".join(f"{r.agent_type} {r.host}" for r in dead))

    def _alive_hosts(self, agent_type: str) -> list[str]:
        now = time.monotonic()
        with self._lock:
            return [r.host for r in self._agents.values()
                    if r.agent_type == agent_type and self._is_alive(r, now)]

    # -- scheduling ------------------------------------------------------------------------

    def _dhcp_hosts(self, network_id: str) -> list[str]:
        with self._lock:
            return list(self._network_dhcp.get(network_id, []))

    def _networks_of_dhcp(self, host: str) -> list[Network]:
        with self._lock:
            return [self.networks[n] for n, hosts in self._network_dhcp.items()
                    if host in hosts and n in self.networks]

    def _schedule_network(self, network_id: str) -> list[str]:
        """``neutron/scheduler/dhcp_agent_scheduler.py``: the least loaded alive agents."""
        with self._lock:
            load = {h: 0 for h in self._alive_hosts(AGENT_TYPE_DHCP)}
            for hosts in self._network_dhcp.values():
                for h in hosts:
                    if h in load:
                        load[h] += 1
            chosen = sorted(load, key=lambda h: (load[h], h))[:self.dhcp_agents_per_network]
            if chosen:
                self._network_dhcp[network_id] = chosen
            else:
                LOG.warning("No more DHCP agents: network %s is not scheduled", network_id)
            return chosen

    def _schedule_router(self, router_id: str) -> str:
        """``neutron/scheduler/l3_agent_scheduler.py``: the alive agent with fewest routers."""
        with self._lock:
            router = self.routers[router_id]
            if router.host:
                return router.host
            hosts = self._alive_hosts(AGENT_TYPE_L3)
            if not hosts:
                LOG.warning("No L3 agents can host the router %s", router_id)
                return ""
            load = {h: sum(r.host == h for r in self.routers.values()) for h in hosts}
            router.host = min(sorted(hosts), key=lambda h: load[h])
            return router.host

    # -- what agents ask for ---------------------------------------------------------------

    def _network_info(self, network: Network) -> dict:
        with self._lock:
            ports = [p.as_dict() for p in self.ports.values() if p.network_id == network.id]
        return {**network.as_dict(), "ports": ports,
                "subnets": [{"id": network.subnet_id, "cidr": network.cidr,
                             "enable_dhcp": True}]}

    def _device_details(self, device: str, host: str | None) -> dict:
        with self._lock:
            port = self.ports.get(device)
            if port is None:
                return {"device": device}
            if port.device_owner.startswith(DEVICE_OWNER_COMPUTE_PREFIX) and port.host != host:
                return {"device": device, "no_active_binding": True}
            network = self.networks[port.network_id]
            if port.status != PORT_STATUS_BUILD:
                port._set_status(PORT_STATUS_BUILD)
            return {"device": device, "port_id": port.id, "network_id": port.network_id,
                    "mac_address": port.mac_address, "admin_state_up": True,
                    "network_type": network.network_type,
                    "segmentation_id": network.segmentation_id, "physical_network": None,
                    "fixed_ips": port.as_dict()["fixed_ips"],
                    "device_owner": port.device_owner}

    def _device_up(self, ctxt: dict, device: str, host: str | None) -> bool:
        with self._lock:
            port = self.ports.get(device)
            if port is None:
                return False
            port._set_status(PORT_STATUS_ACTIVE)
        # provisioning_blocks.provisioning_complete -> nova notifier (HTTP)
        if port.device_owner.startswith(DEVICE_OWNER_COMPUTE_PREFIX) and port.device_id:
            self._queue_nova_event({"name": "network-vif-plugged", "server_uuid":
                                    port.device_id, "tag": port.id, "status": "completed"},
                                   ctxt.get("request_id", ""))
        return True

    def _device_down(self, device: str) -> bool:
        with self._lock:
            port = self.ports.get(device)
            if port is None:
                return False
            port._set_status(PORT_STATUS_DOWN)
            return True

    # -- Nova, over HTTP ---------------------------------------------------------------------

    def _queue_nova_event(self, event: dict, request_id: str) -> None:
        with self._lock:
            self._nova_events.append((event, request_id))
        if self.timings.send_events_interval <= 0:
            self._send_nova_events()

    def _send_nova_events(self) -> None:
        """``neutron/notifiers/nova.py:send_events``: ``POST /v2.1/os-server-external-events``
        to nova-api, over HTTP, never over the bus."""
        with self._lock:
            batch, self._nova_events = self._nova_events, []
        if not batch:
            return
        self.http(self.nova_api, "POST", "/v2.1/os-server-external-events",
                  request_id=batch[0][1])
        if self.nova_callback is not None:
            try:
                self.nova_callback([event for event, _rid in batch])
            except Exception:  # Nova's answer never breaks Neutron
                LOG.exception("Failed to notify nova on events")

    # -- the API (called over HTTP by clients and by Nova) ------------------------------

    def _check_running(self) -> None:
        if not self.running:
            raise NeutronUnavailable(_("{service} is stopped: its API does not answer.",
                                       service=self.name))

    def _notify(self, ctxt: dict, event_type: str, payload: dict) -> None:
        """``neutron/api/v2/base.py``: ``<resource>.<action>.start|end`` notifications."""
        self.notifier.info(ctxt, event_type, payload)

    def get_port(self, port_id: str) -> Port:
        with self._lock:
            port = self.ports.get(port_id)
        if port is None:
            raise NotFound(_("No port {port_id} in this cloud.", port_id=port_id))
        return port

    def get_network(self, network_id: str) -> Network:
        with self._lock:
            network = self.networks.get(network_id)
        if network is None:
            raise NotFound(_("No network {network_id} in this cloud.", network_id=network_id))
        return network

    def create_network(self, ctxt: dict, name: str) -> Network:
        self._check_running()
        self._notify(ctxt, "network.create.start", {"network": {"name": name}})
        with self._lock:
            network = Network(str(uuid.uuid4()), name, self._next_segment)
            self._next_segment += 1
            self.networks[network.id] = network
        self._notify(ctxt, "network.create.end", {"network": network.as_dict()})
        return network

    def update_network(self, ctxt: dict, network_id: str, **attrs: Any) -> Network:
        self._check_running()
        network = self.get_network(network_id)
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
        network = self.get_network(network_id)
        self._notify(ctxt, "network.delete.start", {"network_id": network_id})
        with self._lock:
            for port in [p for p in self.ports.values() if p.network_id == network_id]:
                del self.ports[port.id]
            del self.networks[network_id]
            self._network_dhcp.pop(network_id, None)
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
        network = self.get_network(network_id)
        self._notify(ctxt, "port.create.start", {"port": {
            "network_id": network_id, "device_id": device_id, "device_owner": device_owner}})
        with self._lock:
            number = self._next_ip
            self._next_ip += 1
            port = Port(str(uuid.uuid4()), network_id, device_id, device_owner,
                        mac_address=f"fa:16:3e:{(number >> 16) & 255:02x}:"
                                    f"{(number >> 8) & 255:02x}:{number & 255:02x}",
                        ip_address=f"{network.cidr.rsplit('.', 1)[0]}.{number % 250 + 2}")
            port.requests.append(ctxt["request_id"])
            self.ports[port.id] = port
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
        port.vif_type = "ovs" if host in self._alive_hosts(AGENT_TYPE_OVS) else \
            "binding_failed"

    def update_port(self, ctxt: dict, port_id: str, host: str | None = None,
                    **attrs: Any) -> Port:
        """ML2's ``update_port``: a (re)binding or any change ends with a ``port_update``
        fanout cast to every L2 agent (``_notify_port_updated``)."""
        self._check_running()
        port = self.get_port(port_id)
        body = dict(attrs, **({"binding:host_id": host} if host is not None else {}))
        self._notify(ctxt, "port.update.start", {"port": body, "id": port_id})
        with self._lock:
            port.requests.append(ctxt["request_id"])
            for name in ("device_id", "device_owner"):
                if name in attrs:
                    setattr(port, name, attrs[name])
            if host is not None:
                self._bind(port, host)
        network = self.get_network(port.network_id)
        self.agent_notifier.port_update(ctxt, port.as_dict(), network.network_type,
                                        network.segmentation_id, None)
        self.dhcp_notifier.notify(ctxt, "port_update_end", {"port": port.as_dict()},
                                  port.network_id)
        self._notify(ctxt, "port.update.end", {"port": port.as_dict()})
        return port

    def delete_port(self, ctxt: dict, port_id: str) -> None:
        self._check_running()
        port = self.get_port(port_id)
        self._notify(ctxt, "port.delete.start", {"port_id": port_id})
        with self._lock:
            del self.ports[port_id]
        self.agent_notifier.port_delete(ctxt, port_id)
        self.dhcp_notifier.notify(ctxt, "port_delete_end", {"port_id": port_id,
                                                            "network_id": port.network_id},
                                  port.network_id)
        if port.device_owner.startswith(DEVICE_OWNER_COMPUTE_PREFIX) and port.device_id:
            self._queue_nova_event({"name": "network-vif-deleted", "server_uuid":
                                    port.device_id, "tag": port_id, "status": "completed"},
                                   ctxt["request_id"])
        self._notify(ctxt, "port.delete.end", {"port_id": port_id, "port": port.as_dict()})

    def create_router(self, ctxt: dict, name: str) -> Router:
        """A router without interface nor gateway is not scheduled: no agent hears of it."""
        self._check_running()
        self._notify(ctxt, "router.create.start", {"router": {"name": name}})
        with self._lock:
            router = Router(str(uuid.uuid4()), name)
            self.routers[router.id] = router
        self._notify(ctxt, "router.create.end", {"router": router.as_dict()})
        return router

    def add_router_interface(self, ctxt: dict, router_id: str, network_id: str) -> Router:
        """``l3_db.py:add_router_interface``: a port for the router, then the router is
        scheduled and its L3 agent gets ``routers_updated``."""
        self._check_running()
        with self._lock:
            router = self.routers.get(router_id)
        if router is None:
            raise NotFound(_("No router {router_id} in this cloud.", router_id=router_id))
        port = self.create_port(ctxt, network_id, router_id, DEVICE_OWNER_ROUTER_INTF)
        with self._lock:
            router.interfaces.append(port.id)
        self.l3_notifier.routers_updated(ctxt, [router_id])
        self._notify(ctxt, "router.interface.create", {"router_interface": {
            "id": router_id, "port_id": port.id, "network_id": network_id}})
        return router


# --------------------------------------------------------------------------- agents


class _Agent(Service):
    """What every Neutron agent does: report its state, and work in one loop thread.

    The first report (``start_flag``) registers the agent; then one every
    ``report_interval``.  The OVS and L3 agents report with ``call``
    (``use_call=True``, ``neutron/agent/rpc.py:PluginReportStateAPI``); the lab's DHCP
    agent does the same.
    """

    control_exchange = CONTROL_EXCHANGE
    agent_type = ""
    agent_topic = L2_AGENT_TOPIC

    def __init__(self, host: str, url: str | None = None, trace: Trace | None = None,
                 timings: NeutronTimings | None = None, options: dict | None = None) -> None:
        self.timings = timings or NeutronTimings()
        options = {"rpc_response_timeout": self.timings.rpc_response_timeout, **(options or {})}
        super().__init__(host, url, trace, options)
        self.state_rpc = self.client(REPORTS, version="1.2", namespace=RPC_NAMESPACE_STATE)
        #: What the last report_state returned: new, alive or revived.
        self.last_report: str | None = None
        #: Every notification this agent received from the server: (method, arguments).
        self.received: list[tuple[str, dict]] = []
        self._start_flag = True
        self._loop: ThreadPoolExecutor | None = None
        #: Set once the first report and the first sync are done (or failed).
        self.synced = threading.Event()

    def configurations(self) -> dict:
        return {}

    def on_start(self) -> None:
        self._start_flag = True
        self.synced.clear()
        self._loop = ThreadPoolExecutor(1, thread_name_prefix=f"{self.name} loop")
        self.submit(self.report_state)
        self.submit(self.sync)
        self.submit(self.synced.set)
        self.every(self.timings.report_interval, self.report_state, "report_state")

    def on_stop(self) -> None:
        if self._loop is not None:
            self._loop.shutdown(wait=True, cancel_futures=True)
            self._loop = None

    def submit(self, task: Callable, *args: Any) -> None:
        """Queue work for the agent's loop (its ``rpc_loop`` / ``_process_routers_loop``)."""
        loop = self._loop
        if loop is None or not self.running:
            return

        def run() -> None:
            try:
                task(*args)
            except rpc.MessagingException as error:
                LOG.warning("%s: %s failed: %s", self.name, task.__name__, error)
            except Exception:
                LOG.exception("%s: %s failed", self.name, task.__name__)

        try:
            loop.submit(run)
        except RuntimeError:  # shut down meanwhile
            pass

    def sync(self) -> None:
        """What the agent fetches once started (subclasses)."""

    def admin_context(self) -> dict:
        return request_context(is_admin=True, project_id=None, user_id=None)

    def report_state(self) -> str | None:
        state = {"binary": self.binary, "host": self.host, "topic": self.agent_topic,
                 "agent_type": self.agent_type, "configurations": self.configurations(),
                 "uuid": str(uuid.uuid4())}
        if self._start_flag:
            state["start_flag"] = True
        try:
            result = self.state_rpc.call(
                self.admin_context(), "report_state", agent_state={"agent_state": state},
                time=datetime.now(timezone.utc).strftime(ISO8601_TIME_FORMAT))
        except rpc.MessagingTimeout:
            LOG.warning("%s: Failed reporting state!", self.name)
            return None
        self._start_flag = False
        self.last_report = result
        if result == AGENT_REVIVED:
            LOG.info("%s: Agent has just been revived. Doing a full sync.", self.name)
            self.submit(self.sync)
        return result

    def _received(self, method: str, **kwargs: Any) -> None:
        self.received.append((method, kwargs))


class OVSAgentRpcCallbacks:
    """The L2 agent's endpoint: what ``AgentNotifierApi`` fans out."""

    target = rpc.Target(version="1.5")

    def __init__(self, agent: OVSAgent) -> None:
        self.agent = agent

    def port_update(self, ctxt: dict, port: dict, **kwargs: Any) -> None:
        self.agent._received("port_update", port=port, **kwargs)
        if port["id"] in self.agent.plugged:  # ours: rewire it in the loop
            self.agent.device_changed(port["id"])

    def port_delete(self, ctxt: dict, port_id: str, **kwargs: Any) -> None:
        self.agent._received("port_delete", port_id=port_id)
        self.agent.plugged.discard(port_id)
        self.agent.wired.discard(port_id)

    def network_update(self, ctxt: dict, network: dict, **kwargs: Any) -> None:
        self.agent._received("network_update", network=network)

    def network_delete(self, ctxt: dict, network_id: str, **kwargs: Any) -> None:
        self.agent._received("network_delete", network_id=network_id)

    def tunnel_update(self, ctxt: dict, **kwargs: Any) -> None:
        self.agent._received("tunnel_update", **kwargs)


class OVSAgent(_Agent):
    """neutron-openvswitch-agent: the L2 agent of every compute and network node.

    It consumes the notifier topics of :attr:`CONSUMERS` (each an RPC server on
    ``Target(topic=q-agent-notifier-<resource>-<op>, server=host)``, as
    ``neutron/agent/rpc.py:create_consumers`` makes them).  Real OpenStack: this is the
    classic set (the SR-IOV agent still uses it); today's OVS agent listens to
    ``tunnel``, ``dvr`` and ``l2population`` topics and gets ports and networks from the
    ``neutron-vo-*`` push topics (``ovs_neutron_agent.py:setup_rpc``).

    A port is wired when its tap device appears on the bridge (Nova plugs it:
    :meth:`NeutronCloud.plug_vif`) or when a ``port_update`` concerns a device already
    there: the agent then calls ``get_devices_details_list`` and ``update_device_list``
    on ``q-plugin`` (``ovs_neutron_agent.py:treat_devices_added_or_updated``).
    """

    binary = AGENT_PROCESS_OVS
    agent_type = AGENT_TYPE_OVS
    CONSUMERS = ((PORT, UPDATE), (PORT, DELETE), (NETWORK, UPDATE), (NETWORK, DELETE),
                 (TUNNEL, UPDATE))

    def __init__(self, host: str, url: str | None = None, trace: Trace | None = None,
                 timings: NeutronTimings | None = None, options: dict | None = None) -> None:
        super().__init__(host, url, trace, timings, options)
        self.agent_id = f"ovs-agent-{host}"
        self.plugin_rpc = self.client(PLUGIN, version="1.0")
        #: Tap devices on this host's bridge, and those wired.
        self.plugged: set[str] = set()
        self.wired: set[str] = set()
        self._pending: set[str] = set()
        self._pending_lock = threading.Lock()

    def targets(self) -> list[rpc.Target]:
        return [rpc.Target(topic=get_topic_name(AGENT, resource, operation), server=self.host)
                for resource, operation in self.CONSUMERS]

    def endpoints(self) -> list[Any]:
        return [OVSAgentRpcCallbacks(self)]

    def configurations(self) -> dict:
        return {"bridge_mappings": {}, "tunnel_types": ["vxlan"], "l2_population": False,
                "devices": len(self.wired)}

    def plug(self, port_id: str) -> None:
        """A tap device appears on br-int (the OVSDB monitor sees it): no message yet."""
        self.plugged.add(port_id)
        self.device_changed(port_id)

    def device_changed(self, port_id: str) -> None:
        """Note a device for the next loop iteration, which handles all noted ones at once
        (``rpc_loop``: ``updated_ports`` and added devices are sets)."""
        with self._pending_lock:
            first = not self._pending
            self._pending.add(port_id)
        if first:
            self.submit(self._process_devices)

    def _process_devices(self) -> None:
        with self._pending_lock:
            devices, self._pending = sorted(self._pending), set()
        if devices:
            self.treat_devices(devices)

    def treat_devices(self, devices: list[str]) -> None:
        ctxt = self.admin_context()
        details = self.plugin_rpc.prepare(version="1.3").call(
            ctxt, "get_devices_details_list", devices=devices, agent_id=self.agent_id,
            host=self.host)
        up = [d["device"] for d in details if "network_id" in d]
        if not up:
            return
        if self.timings.port_wiring > 0:
            time.sleep(self.timings.port_wiring)
        self.plugin_rpc.prepare(version="1.5").call(
            ctxt, "update_device_list", devices_up=up, devices_down=[],
            agent_id=self.agent_id, host=self.host)
        self.wired.update(up)


class DhcpAgentRpcCallbacks:
    """``neutron/agent/dhcp/agent.py:DhcpAgent``'s RPC methods (casts from the server)."""

    target = rpc.Target(version="1.0")

    def __init__(self, agent: DHCPAgent) -> None:
        self.agent = agent

    def network_create_end(self, ctxt: dict, payload: dict, **kwargs: Any) -> None:
        self.agent._received("network_create_end", payload=payload)
        self.agent.submit(self.agent.enable_dhcp, payload["network"]["id"])

    def network_update_end(self, ctxt: dict, payload: dict, **kwargs: Any) -> None:
        self.agent._received("network_update_end", payload=payload)

    def network_delete_end(self, ctxt: dict, payload: dict, **kwargs: Any) -> None:
        self.agent._received("network_delete_end", payload=payload)
        self.agent.networks.pop(payload.get("network_id"), None)

    def port_create_end(self, ctxt: dict, payload: dict, **kwargs: Any) -> None:
        self.agent._received("port_create_end", payload=payload)
        self.agent.ports[payload["port"]["id"]] = payload["port"]

    def port_update_end(self, ctxt: dict, payload: dict, **kwargs: Any) -> None:
        self.agent._received("port_update_end", payload=payload)
        self.agent.ports[payload["port"]["id"]] = payload["port"]

    def port_delete_end(self, ctxt: dict, payload: dict, **kwargs: Any) -> None:
        self.agent._received("port_delete_end", payload=payload)
        self.agent.ports.pop(payload.get("port_id"), None)


class DHCPAgent(_Agent):
    """neutron-dhcp-agent: RPC server on ``dhcp_agent`` / ``dhcp_agent.<host>``.

    Once started it asks ``get_active_networks_info`` (``sync_state``); told
    ``network_create_end``, it calls ``get_network_info`` and serves the network; port
    casts only refresh its dnsmasq host files (``neutron/agent/dhcp/agent.py``).
    """

    binary = AGENT_PROCESS_DHCP
    agent_type = AGENT_TYPE_DHCP
    topic = DHCP_AGENT
    agent_topic = DHCP_AGENT

    def __init__(self, host: str, url: str | None = None, trace: Trace | None = None,
                 timings: NeutronTimings | None = None, options: dict | None = None) -> None:
        super().__init__(host, url, trace, timings, options)
        self.plugin_rpc = self.client(PLUGIN, version="1.0", namespace=RPC_NAMESPACE_DHCP_PLUGIN)
        self.networks: dict[str, dict] = {}
        self.ports: dict[str, dict] = {}

    def endpoints(self) -> list[Any]:
        return [DhcpAgentRpcCallbacks(self)]

    def configurations(self) -> dict:
        return {"dhcp_driver": "neutron.agent.linux.dhcp.Dnsmasq",
                "networks": len(self.networks), "ports": len(self.ports)}

    def sync(self) -> None:
        networks = self.plugin_rpc.prepare(version="1.1").call(
            self.admin_context(), "get_active_networks_info", host=self.host)
        self.networks = {n["id"]: n for n in networks}

    def enable_dhcp(self, network_id: str) -> None:
        network = self.plugin_rpc.call(self.admin_context(), "get_network_info",
                                       network_id=network_id, host=self.host)
        if network:
            self.networks[network_id] = network


class L3AgentRpcCallbacks:
    """``neutron/agent/l3/agent.py:L3NATAgent``'s RPC methods."""

    target = rpc.Target(version="1.4")

    def __init__(self, agent: L3Agent) -> None:
        self.agent = agent

    def routers_updated(self, ctxt: dict, routers: list, **kwargs: Any) -> None:
        self.agent._received("routers_updated", routers=routers)
        self.agent.submit(self.agent.sync_routers, routers)

    def router_deleted(self, ctxt: dict, router_id: str, **kwargs: Any) -> None:
        self.agent._received("router_deleted", router_id=router_id)
        self.agent.routers.pop(router_id, None)


class L3Agent(_Agent):
    """neutron-l3-agent: RPC server on ``l3_agent`` / ``l3_agent.<host>``; calls
    ``sync_routers`` on ``q-l3-plugin`` for the routers it is told about, and, once
    started, ``get_router_ids`` (its full sync)."""

    binary = AGENT_PROCESS_L3
    agent_type = AGENT_TYPE_L3
    topic = L3_AGENT
    agent_topic = L3_AGENT

    def __init__(self, host: str, url: str | None = None, trace: Trace | None = None,
                 timings: NeutronTimings | None = None, options: dict | None = None) -> None:
        super().__init__(host, url, trace, timings, options)
        self.plugin_rpc = self.client(L3PLUGIN, version="1.0")
        self.routers: dict[str, dict] = {}

    def endpoints(self) -> list[Any]:
        return [L3AgentRpcCallbacks(self)]

    def configurations(self) -> dict:
        return {"agent_mode": "legacy", "routers": len(self.routers)}

    def sync(self) -> None:
        ids = self.plugin_rpc.prepare(version="1.9").call(self.admin_context(),
                                                          "get_router_ids", host=self.host)
        if ids:
            self.sync_routers(ids)

    def sync_routers(self, router_ids: list[str]) -> None:
        routers = self.plugin_rpc.call(self.admin_context(), "sync_routers", host=self.host,
                                       router_ids=router_ids)
        for router in routers:
            self.routers[router["id"]] = router


# --------------------------------------------------------------------------- the facade


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
    def agent_services(self) -> list[_Agent]:
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
        self.server.nova_callback = callback
        self.server.nova_api = callee

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
                self._default_network.id not in self.server.networks:
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
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and not any(
                    m == "port_update" and a["port"]["id"] == port.id
                    for m, a in list(agent.received)):
                time.sleep(0.002)
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


__all__ = [
    "AGENT", "CONTROL_EXCHANGE", "DHCP_AGENT", "L3PLUGIN", "L3_AGENT", "PLUGIN", "REPORTS",
    "Agent", "DHCPAgent", "L3Agent", "Network", "NeutronCloud", "NeutronServer",
    "NeutronTimings", "NeutronUnavailable", "NotFound", "OVSAgent", "Port", "Router",
    "cleanup_together", "get_topic_name", "record_http", "request_context",
]
