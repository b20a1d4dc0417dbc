"""neutron-l3-agent: an RPC server on ``l3_agent`` / ``l3_agent.<host>``.

It calls ``sync_routers`` on ``q-l3-plugin`` for the routers it is told about, and,
once started, ``get_router_ids`` (its full sync) (``neutron/agent/l3/agent.py``).
"""

from __future__ import annotations

from typing import Any

from ... import rpc
from ...trace import Trace
from .agent import NeutronAgent
from .conf import NeutronTimings
from .constants import AGENT_PROCESS_L3, AGENT_TYPE_L3, L3_AGENT, L3PLUGIN
from .context import admin_context


class L3AgentRpcCallbacks:
    """``neutron/agent/l3/agent.py:L3NATAgent``'s RPC methods."""

    target = rpc.Target(version="1.4")

    def __init__(self, agent: L3Agent) -> None:
        self.agent = agent

    def routers_updated(self, ctxt: dict, routers: list, **kwargs: Any) -> None:
        self.agent.submit(self.agent.sync_routers, routers)
        self.agent.note_received("routers_updated", routers=routers)

    def router_deleted(self, ctxt: dict, router_id: str, **kwargs: Any) -> None:
        self.agent.routers.pop(router_id, None)
        self.agent.note_received("router_deleted", router_id=router_id)


class L3Agent(NeutronAgent):
    """neutron-l3-agent (see the module's docstring)."""

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
        ids = self.plugin_rpc.prepare(version="1.9").call(admin_context(),
                                                          "get_router_ids", host=self.host)
        if ids:
            self.sync_routers(ids)

    def sync_routers(self, router_ids: list[str]) -> None:
        routers = self.plugin_rpc.call(admin_context(), "sync_routers", host=self.host,
                                       router_ids=router_ids)
        for router in routers:
            self.routers[router["id"]] = router
