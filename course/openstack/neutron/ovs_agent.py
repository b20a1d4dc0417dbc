"""neutron-openvswitch-agent: the L2 agent of every compute and network node.

It consumes the notifier topics of :attr:`OVSAgent.CONSUMERS` (each an RPC server
on ``Target(topic=q-agent-notifier-<resource>-<op>, server=host)``, as
``neutron/agent/rpc.py:create_consumers`` makes them), so it owns one
``*_fanout_<uuid>`` queue per topic.  Real OpenStack: this is the classic set (the
SR-IOV agent still uses it); today's OVS agent listens to ``tunnel``, ``dvr`` and
``l2population`` topics and gets ports and networks from the ``neutron-vo-*`` push
topics (``ovs_neutron_agent.py:setup_rpc``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ... import rpc
from ...trace import Trace
from .agent import NeutronAgent, PluginApi
from .conf import NeutronTimings
from .constants import (
    AGENT,
    AGENT_PROCESS_OVS,
    AGENT_TYPE_OVS,
    DELETE,
    LOCAL_RESOURCE_VERSIONS,
    NETWORK,
    PORT,
    TUNNEL,
    UPDATE,
    get_topic_name,
)
from .context import admin_context


class OVSAgentRpcCallbacks:
    """The L2 agent's endpoint: what ``AgentNotifierApi`` fans out."""

    #: ``ovs_neutron_agent.py:OVSNeutronAgent.target`` (1.7: smartnic ports).
    target = rpc.Target(version="1.7")

    def __init__(self, agent: OVSAgent) -> None:
        self.agent = agent

    def port_update(self, ctxt: dict, port: dict, **kwargs: Any) -> None:
        if port["id"] in self.agent.plugged:  # ours: rewire it in the loop
            self.agent.device_changed(port["id"])
        self.agent.note_received("port_update", port=port, **kwargs)

    def port_delete(self, ctxt: dict, port_id: str, **kwargs: Any) -> None:
        self.agent.plugged.discard(port_id)
        self.agent.wired.discard(port_id)
        self.agent.note_received("port_delete", port_id=port_id)

    def network_update(self, ctxt: dict, network: dict, **kwargs: Any) -> None:
        self.agent.note_received("network_update", network=network)

    def network_delete(self, ctxt: dict, network_id: str, **kwargs: Any) -> None:
        self.agent.note_received("network_delete", network_id=network_id)

    def tunnel_update(self, ctxt: dict, **kwargs: Any) -> None:
        self.agent.note_received("tunnel_update", **kwargs)


class OVSAgent(NeutronAgent):
    """neutron-openvswitch-agent (see the module's docstring).

    A port is wired when its tap device appears on the bridge (Nova plugs it:
    :meth:`NeutronCloud.plug_vif`) or when a ``port_update`` concerns a device already
    there: the agent then calls ``get_devices_details_list`` and ``update_device_list``
    on ``q-plugin`` (``ovs_neutron_agent.py:treat_devices_added_or_updated``).
    """

    binary = AGENT_PROCESS_OVS
    agent_type = AGENT_TYPE_OVS
    resource_versions = LOCAL_RESOURCE_VERSIONS
    CONSUMERS = ((PORT, UPDATE), (PORT, DELETE), (NETWORK, UPDATE), (NETWORK, DELETE),
                 (TUNNEL, UPDATE))

    def __init__(self, host: str, url: str | None = None, trace: Trace | None = None,
                 timings: NeutronTimings | None = None, options: dict | None = None) -> None:
        super().__init__(host, url, trace, timings, options)
        self.agent_id = f"ovs-agent-{host}"
        self.plugin_rpc = PluginApi(self, self.agent_id)
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
        ctxt = admin_context()
        details = self.plugin_rpc.get_devices_details_list(ctxt, devices)
        up = [d["device"] for d in details if "network_id" in d]
        if not up:
            return
        if self.timings.port_wiring > 0:
            time.sleep(self.timings.port_wiring)  # the work itself, not a wait
        self.plugin_rpc.update_device_list(ctxt, up, [])
        self.wired.update(up)
