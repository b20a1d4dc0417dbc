"""Neutron's names: the control exchange, topics, agent and port constants.

They come from ``neutron_lib/agent/topics.py`` and ``neutron_lib/constants.py``, so
a queue the lab declares has the name a real deployment gives it.
"""

from __future__ import annotations

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
RPC_NAMESPACE_RESOURCES: str | None = None

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

#: ``neutron/api/rpc/callbacks/resources.py:LOCAL_RESOURCE_VERSIONS``: each versioned
#: object an agent may be sent, with its ``VERSION`` (``neutron/objects/*.py``).  An L2
#: agent reports them once, so that servers push objects it can read.
LOCAL_RESOURCE_VERSIONS = {
    "QosPolicy": "1.10", "Trunk": "1.1", "SubPort": "1.0", "Port": "1.11", "Subnet": "1.2",
    "Network": "1.3", "SecurityGroup": "1.6", "SecurityGroupRule": "1.3", "Log": "1.0",
    "PortForwarding": "1.3", "ConntrackHelper": "1.0", "AddressGroup": "1.2",
    "LocalIPAssociation": "1.0", "NDPProxy": "1.0", "Agent": "1.1",
}


def get_topic_name(prefix: str, table: str, operation: str, host: str | None = None) -> str:
    """``neutron_lib/agent/topics.py:get_topic_name``: ``q-agent-notifier-port-update``."""
    if host:
        return f"{prefix}-{table}-{operation}.{host}"
    return f"{prefix}-{table}-{operation}"
