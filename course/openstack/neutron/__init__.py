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
server → all L3 agents   ``l3_agent`` (fanout)                        cast ``router_deleted``
agents → server          ``q-plugin``                                 call
                                                                      ``update_device_list``...
agents → server          ``q-reports-plugin``, every 30 s             call ``report_state``
L3 agents → server       ``q-l3-plugin``                              call ``sync_routers``
server → all servers     ``q-server-resource-versions`` (fanout)      cast
                                                                      ``report_agent_...``
server → Nova            HTTP ``os-server-external-events``           never over the bus
=======================  ===========================================  =======================

Every agent RPC server is an oslo.messaging server on ``Target(topic=T, server=host)``
(``neutron_lib/rpc.py:Connection.create_consumer``), so it declares ``T``,
``T.<host>`` *and* its own ``T_fanout_<uuid>`` queue: an L2 agent that listens to five
notifier topics owns five fanout queues, which is why Neutron fills a RabbitMQ with
``*_fanout_*`` queues.

Read in this order: :mod:`.cloud` (what a lesson calls), :mod:`.constants` (every
name on the wire), :mod:`.notifiers` (what the server casts, and with which
version), :mod:`.handlers` (what the server answers), :mod:`.server` (the API and
its RPC servers), then the agents: :mod:`.agent` (state reports, the common loop),
:mod:`.ovs_agent`, :mod:`.dhcp_agent`, :mod:`.l3_agent`.  Behind them:
:mod:`.db`, :mod:`.agents_db` (who is alive), :mod:`.scheduler` (which agent serves
what), :mod:`.nova_notifier` (HTTP to Nova, not the bus), :mod:`.resources`,
:mod:`.conf` and :mod:`.context`.
"""

from .agent import NeutronAgent
from .agents_db import Agent
from .cloud import NeutronCloud
from .conf import NeutronTimings
from .constants import (
    AGENT,
    CONTROL_EXCHANGE,
    DHCP,
    DHCP_AGENT,
    L3_AGENT,
    L3PLUGIN,
    PLUGIN,
    REPORTS,
    SERVER_RESOURCE_VERSIONS,
    get_topic_name,
)
from .context import request_context
from .dhcp_agent import DHCPAgent
from .exceptions import NeutronUnavailable, NotFound, RouterInUse
from .l3_agent import L3Agent
from .ovs_agent import OVSAgent
from .resources import Network, Port, Router
from .server import NeutronServer

__all__ = [
    "AGENT", "CONTROL_EXCHANGE", "DHCP", "DHCP_AGENT", "L3PLUGIN", "L3_AGENT", "PLUGIN",
    "REPORTS", "SERVER_RESOURCE_VERSIONS", "Agent", "DHCPAgent", "L3Agent", "Network",
    "NeutronAgent", "NeutronCloud", "NeutronServer", "NeutronTimings", "NeutronUnavailable",
    "NotFound", "OVSAgent", "Port", "Router", "RouterInUse", "get_topic_name",
    "request_context",
]
