"""What neutron-server casts to its agents: every message it sends and its version.

* ``AgentNotifierApi`` fans out to every L2 agent (``q-agent-notifier-<res>-<op>``);
* ``DhcpAgentNotifyAPI`` casts to the DHCP agents that serve a network
  (``dhcp_agent.<host>``), or fans out to all of them;
* ``L3AgentNotifyAPI`` casts to the L3 agent of a router (``l3_agent.<host>``), and
  fans a router's deletion out to every L3 agent.

and to the other neutron-servers, ``ResourcesPushToServersRpcApi`` fans out the object
versions an agent reported (``q-server-resource-versions``).

The DHCP and L3 notifiers schedule a network or a router the first time an agent
must hear of it (:mod:`.scheduler`).
"""

from __future__ import annotations

from ... import rpc
from .constants import (
    AGENT,
    DELETE,
    DHCP_AGENT,
    L3_AGENT,
    NETWORK,
    PORT,
    RPC_NAMESPACE_RESOURCES,
    SERVER_RESOURCE_VERSIONS,
    UPDATE,
    get_topic_name,
)
from .db import NeutronDb
from .scheduler import schedule_network, schedule_router


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

    def __init__(self, transport: rpc.Transport, db: NeutronDb,
                 agents_per_network: int = 1) -> None:
        self.db = db
        #: ``[DEFAULT] dhcp_agents_per_network``.
        self.agents_per_network = agents_per_network
        self.client = rpc.get_rpc_client(transport, rpc.Target(topic=DHCP_AGENT, version="1.0"))

    def notify(self, ctxt: dict, method: str, payload: dict, network_id: str) -> None:
        if method == "network_delete_end":
            self.client.prepare(fanout=True).cast(ctxt, method, payload=payload)
            return
        if method == "network_create_end":
            return
        hosts = self.db.dhcp_hosts(network_id)
        if not hosts and method in ("port_create_end", "subnet_create_end"):
            hosts = schedule_network(self.db, network_id, self.agents_per_network)
            for host in hosts:
                self._cast(ctxt, "network_create_end", {"network": {"id": network_id}}, host)
        for host in hosts:
            self._cast(ctxt, method, payload, host)

    def _cast(self, ctxt: dict, method: str, payload: dict, host: str) -> None:
        self.client.prepare(topic=DHCP_AGENT, server=host).cast(ctxt, method, payload=payload)


class L3AgentNotifyAPI:
    """``neutron/api/rpc/agentnotifiers/l3_rpc_agent_api.py``: ``routers_updated`` to
    ``l3_agent.<host>``, scheduling the router first if no agent hosts it."""

    def __init__(self, transport: rpc.Transport, db: NeutronDb) -> None:
        self.db = db
        self.client = rpc.get_rpc_client(transport, rpc.Target(topic=L3_AGENT, version="1.0"))

    def routers_updated(self, ctxt: dict, router_ids: list[str]) -> None:
        for router_id in router_ids:
            host = schedule_router(self.db, router_id)
            if host:
                cctxt = self.client.prepare(topic=L3_AGENT, server=host, version="1.1")
                cctxt.cast(ctxt, "routers_updated", routers=[router_id])

    def router_deleted(self, ctxt: dict, router_id: str) -> None:
        """A fanout to every L3 agent (``_notification_fanout``), whichever hosted it."""
        self.client.prepare(fanout=True).cast(ctxt, "router_deleted", router_id=router_id)


class ResourcesPushToServersRpcApi:
    """``neutron/api/rpc/handlers/resources_rpc.py:ResourcesPushToServersRpcApi``: tell
    every neutron-server (this one too) which object versions an agent understands."""

    def __init__(self, transport: rpc.Transport) -> None:
        self.client = rpc.get_rpc_client(transport, rpc.Target(
            topic=SERVER_RESOURCE_VERSIONS, version="1.0", namespace=RPC_NAMESPACE_RESOURCES))

    def report_agent_resource_versions(self, ctxt: dict, agent_type: str, agent_host: str,
                                       version_map: dict[str, str]) -> None:
        cctxt = self.client.prepare(fanout=True)
        cctxt.cast(ctxt, "report_agent_resource_versions", agent_type=agent_type,
                   agent_host=agent_host, version_map=version_map)
