"""neutron-dhcp-agent: an RPC server on ``dhcp_agent`` / ``dhcp_agent.<host>``.

Once started it asks ``get_active_networks_info`` (``sync_state``); told
``network_create_end``, it calls ``get_network_info`` and serves the network; port
casts only refresh its dnsmasq host files (``neutron/agent/dhcp/agent.py``).
"""

from __future__ import annotations

from typing import Any

from ... import rpc
from ...trace import Trace
from .agent import NeutronAgent
from .conf import NeutronTimings
from .constants import (
    AGENT_PROCESS_DHCP,
    AGENT_TYPE_DHCP,
    DHCP_AGENT,
    PLUGIN,
    RPC_NAMESPACE_DHCP_PLUGIN,
)
from .context import admin_context


class DhcpAgentRpcCallbacks:
    """``neutron/agent/dhcp/agent.py:DhcpAgent``'s RPC methods (casts from the server)."""

    target = rpc.Target(version="1.0")

    def __init__(self, agent: DHCPAgent) -> None:
        self.agent = agent

    def network_create_end(self, ctxt: dict, payload: dict, **kwargs: Any) -> None:
        self.agent.submit(self.agent.enable_dhcp, payload["network"]["id"])
        self.agent.note_received("network_create_end", payload=payload)

    def network_update_end(self, ctxt: dict, payload: dict, **kwargs: Any) -> None:
        self.agent.note_received("network_update_end", payload=payload)

    def network_delete_end(self, ctxt: dict, payload: dict, **kwargs: Any) -> None:
        self.agent.networks.pop(payload.get("network_id"), None)
        self.agent.note_received("network_delete_end", payload=payload)

    def port_create_end(self, ctxt: dict, payload: dict, **kwargs: Any) -> None:
        self.agent.ports[payload["port"]["id"]] = payload["port"]
        self.agent.note_received("port_create_end", payload=payload)

    def port_update_end(self, ctxt: dict, payload: dict, **kwargs: Any) -> None:
        self.agent.ports[payload["port"]["id"]] = payload["port"]
        self.agent.note_received("port_update_end", payload=payload)

    def port_delete_end(self, ctxt: dict, payload: dict, **kwargs: Any) -> None:
        self.agent.ports.pop(payload.get("port_id"), None)
        self.agent.note_received("port_delete_end", payload=payload)


class DHCPAgent(NeutronAgent):
    """neutron-dhcp-agent (see the module's docstring)."""

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
            admin_context(), "get_active_networks_info", host=self.host)
        self.networks = {n["id"]: n for n in networks}

    def enable_dhcp(self, network_id: str) -> None:
        network = self.plugin_rpc.call(admin_context(), "get_network_info",
                                       network_id=network_id, host=self.host)
        if network:
            self.networks[network_id] = network
