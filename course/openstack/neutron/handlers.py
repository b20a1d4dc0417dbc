"""neutron-server's RPC endpoints: what agents call on ``q-plugin``, ``q-reports-plugin``
and ``q-l3-plugin``, and what servers fan out to each other on
``q-server-resource-versions``.

Each class is the upstream endpoint of the same name, with the version of its
``target`` (an agent's message is refused if it asks for a newer one).  They read and
write the server's :class:`~.db.NeutronDb`; nothing here sends a message, except
through the notifiers the server gives them.
"""

from __future__ import annotations

from typing import Any

from ... import rpc
from .constants import (
    DEVICE_OWNER_COMPUTE_PREFIX,
    PORT_STATUS_ACTIVE,
    PORT_STATUS_BUILD,
    PORT_STATUS_DOWN,
    RPC_NAMESPACE_DHCP_PLUGIN,
    RPC_NAMESPACE_RESOURCES,
    RPC_NAMESPACE_STATE,
)
from .db import NeutronDb
from .notifiers import ResourcesPushToServersRpcApi
from .nova_notifier import Notifier


class RpcCallbacks:
    """``neutron/plugins/ml2/rpc.py:RpcCallbacks``: what L2 agents call on ``q-plugin``.

    Asking for a port's details starts its wiring (``BUILD``); ``update_device_list``
    with the port up makes it ``ACTIVE`` and, for a VM's port, queues
    ``network-vif-plugged`` for Nova (``provisioning_blocks.provisioning_complete``).
    """

    target = rpc.Target(version="1.9")

    def __init__(self, db: NeutronDb, nova: Notifier) -> None:
        self.db = db
        self.nova = nova

    def get_devices_details_list(self, ctxt: dict, devices: list, agent_id: str = "",
                                 host: str | None = None, **kwargs: Any) -> list[dict]:
        return [self._device_details(device, host) for device in devices]

    def update_device_list(self, ctxt: dict, devices_up: list | None = None,
                           devices_down: list | None = None, agent_id: str = "",
                           host: str | None = None, **kwargs: Any) -> dict:
        up = [d for d in devices_up or [] if self._device_up(ctxt, d)]
        down = [{"device": d, "exists": self._device_down(d)} for d in devices_down or []]
        return {"devices_up": up, "failed_devices_up": [],
                "devices_down": down, "failed_devices_down": []}

    def _device_details(self, device: str, host: str | None) -> dict:
        with self.db.lock:
            port = self.db.ports.get(device)
            if port is None:
                return {"device": device}
            if port.device_owner.startswith(DEVICE_OWNER_COMPUTE_PREFIX) and port.host != host:
                return {"device": device, "no_active_binding": True}
            network = self.db.networks[port.network_id]
            port.set_status(PORT_STATUS_BUILD)
            return {"device": device, "port_id": port.id, "network_id": port.network_id,
                    "mac_address": port.mac_address, "admin_state_up": True,
                    "network_type": network.network_type,
                    "segmentation_id": network.segmentation_id, "physical_network": None,
                    "fixed_ips": port.as_dict()["fixed_ips"],
                    "device_owner": port.device_owner}

    def _device_up(self, ctxt: dict, device: str) -> bool:
        with self.db.lock:
            port = self.db.ports.get(device)
            if port is None:
                return False
            port.set_status(PORT_STATUS_ACTIVE)
        if port.device_owner.startswith(DEVICE_OWNER_COMPUTE_PREFIX) and port.device_id:
            self.nova.queue_event("network-vif-plugged", port.device_id, port.id,
                                  ctxt.get("request_id", ""))
        return True

    def _device_down(self, device: str) -> bool:
        with self.db.lock:
            port = self.db.ports.get(device)
            if port is None:
                return False
            port.set_status(PORT_STATUS_DOWN)
            return True


class DhcpRpcCallback:
    """``neutron/api/rpc/handlers/dhcp_rpc.py``: what DHCP agents call on ``q-plugin``."""

    target = rpc.Target(namespace=RPC_NAMESPACE_DHCP_PLUGIN, version="1.10")

    def __init__(self, db: NeutronDb) -> None:
        self.db = db

    def get_active_networks_info(self, ctxt: dict, host: str, **kwargs: Any) -> list[dict]:
        return [self.db.network_info(n) for n in self.db.networks_of_dhcp(host)]

    def get_network_info(self, ctxt: dict, network_id: str, host: str | None = None,
                         **kwargs: Any) -> dict | None:
        network = self.db.networks.get(network_id)
        return self.db.network_info(network) if network else None


#: What ``neutron/api/rpc/callbacks/version_manager.py`` keeps in each server process:
#: (agent type, host) -> {object type: version}.
ResourceVersions = dict[tuple[str, str], dict[str, str]]


class AgentExtRpcCallback:
    """``neutron/db/agents_db.py:AgentExtRpcCallback``: state reports on ``q-reports-plugin``.

    A report that carries ``resource_versions`` (an L2 agent's first) is noted here and
    fanned out to every neutron-server (``_update_local_agent_resource_versions``).
    """

    target = rpc.Target(version="1.4", namespace=RPC_NAMESPACE_STATE)

    def __init__(self, db: NeutronDb, versions: ResourceVersions,
                 server_versions_rpc: ResourcesPushToServersRpcApi) -> None:
        self.db = db
        self.versions = versions
        self.server_versions_rpc = server_versions_rpc

    def report_state(self, ctxt: dict, agent_state: dict, time: str = "",
                     **kwargs: Any) -> str:
        state = agent_state["agent_state"]
        status = self.db.agents.create_or_update_agent(state)
        version_map = state.get("resource_versions")
        if version_map:
            self.versions[(state["agent_type"], state["host"])] = version_map
            self.server_versions_rpc.report_agent_resource_versions(
                ctxt, state["agent_type"], state["host"], version_map)
        return status

    def has_alive_neutron_server(self, ctxt: dict, **kwargs: Any) -> bool:
        return True


class ResourcesPushToServerRpcCallback:
    """``neutron/api/rpc/handlers/resources_rpc.py:ResourcesPushToServerRpcCallback``:
    the versions another server (or this one) heard of, on the
    ``q-server-resource-versions`` fanout."""

    target = rpc.Target(version="1.0", namespace=RPC_NAMESPACE_RESOURCES)

    def __init__(self, versions: ResourceVersions) -> None:
        self.versions = versions

    def report_agent_resource_versions(self, ctxt: dict, agent_type: str, agent_host: str,
                                       version_map: dict[str, str], **kwargs: Any) -> None:
        self.versions[(agent_type, agent_host)] = version_map


class L3RpcCallback:
    """``neutron/api/rpc/handlers/l3_rpc.py``: what L3 agents call on ``q-l3-plugin``."""

    target = rpc.Target(version="1.13")

    def __init__(self, db: NeutronDb) -> None:
        self.db = db

    def sync_routers(self, ctxt: dict, host: str, router_ids: list | None = None,
                     **kwargs: Any) -> list[dict]:
        return [r.as_dict() for r in self.db.routers_of(host, router_ids)]

    def get_router_ids(self, ctxt: dict, host: str, **kwargs: Any) -> list[str]:
        return [r.id for r in self.db.routers_of(host)]
