"""Which agent hosts a network's DHCP or a router: the least loaded alive one
(``neutron/scheduler/dhcp_agent_scheduler.py``, ``l3_agent_scheduler.py``).

Scheduling reads only the database; the notifiers call it just before they cast, so
an agent hears of a network or a router when it first needs to serve it.
"""

from __future__ import annotations

import logging

from .constants import AGENT_TYPE_DHCP, AGENT_TYPE_L3
from .db import NeutronDb

LOG = logging.getLogger(__name__)


def schedule_network(db: NeutronDb, network_id: str, agents_per_network: int = 1) -> list[str]:
    """Bind ``network_id`` to the ``agents_per_network`` alive DHCP agents that serve the
    fewest networks; return their hosts (none: nobody serves it)."""
    with db.lock:
        load = dict.fromkeys(db.agents.alive_hosts(AGENT_TYPE_DHCP), 0)
        for hosts in db.network_dhcp.values():
            for host in hosts:
                if host in load:
                    load[host] += 1
        chosen = sorted(load, key=lambda h: (load[h], h))[:agents_per_network]
        if chosen:
            db.network_dhcp[network_id] = chosen
        else:
            LOG.warning("No more DHCP agents: network %s is not scheduled", network_id)
        return chosen


def schedule_router(db: NeutronDb, router_id: str) -> str:
    """The host of the L3 agent of ``router_id``: the alive agent with the fewest routers,
    chosen once (``""``: no alive L3 agent)."""
    with db.lock:
        router = db.routers[router_id]
        if router.host:
            return router.host
        hosts = db.agents.alive_hosts(AGENT_TYPE_L3)
        if not hosts:
            LOG.warning("No L3 agents can host the router %s", router_id)
            return ""
        load = {h: sum(r.host == h for r in db.routers.values()) for h in hosts}
        router.host = min(sorted(hosts), key=lambda h: load[h])
        return router.host
