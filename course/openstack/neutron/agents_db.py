"""neutron-server's agents table: who reported, when, and who is dead
(``neutron/db/agents_db.py``).

An agent is alive while its last ``report_state`` is younger than
``agent_down_time``; nothing else tells the server that an agent went away.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ...i18n import _, format_seconds
from .constants import AGENT_ALIVE, AGENT_NEW, AGENT_REVIVED, L2_AGENT_TOPIC

LOG = logging.getLogger(__name__)


@dataclass
class AgentRecord:
    """One row of the ``agents`` table."""

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
        """``<Agent neutron-dhcp-agent node1 :-) 2.5 s ago>``: what a notebook shows of
        ``cloud.agents()``, the last report's age in the learner's language."""
        age = _("{duration} ago", duration=format_seconds(self.last_heartbeat, 1))
        return f"<Agent {self.binary} {self.host} {':-)' if self.alive else 'XXX'} {age}>"


class AgentsDb:
    """The agents neutron-server heard of, keyed by (agent type, host)."""

    def __init__(self, agent_down_time: float) -> None:
        #: 0 or less: never declare an agent dead.
        self.agent_down_time = agent_down_time
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], AgentRecord] = {}
        #: Agents the health check found dead, in order: (binary, host).
        self.dead_agents: list[tuple[str, str]] = []

    def create_or_update_agent(self, state: dict) -> str:
        """``AgentDbMixin.create_or_update_agent``: new, alive, or revived (it had been
        silent longer than ``agent_down_time``: the agent then does a full sync)."""
        key = (state["agent_type"], state["host"])
        now = time.monotonic()
        with self._lock:
            record = self._records.get(key)
            if record is None:
                self._records[key] = AgentRecord(
                    state["agent_type"], state["binary"], state["host"],
                    state.get("topic", L2_AGENT_TOPIC), state.get("configurations", {}),
                    time.time(), now)
                return AGENT_NEW
            revived = not self._is_alive(record, now)
            record.heartbeat = now
            record.configurations = state.get("configurations", record.configurations)
            record.was_dead = False
            return AGENT_REVIVED if revived else AGENT_ALIVE

    def _is_alive(self, record: AgentRecord, now: float) -> bool:
        down = self.agent_down_time
        return down <= 0 or now - record.heartbeat <= down

    def agents(self) -> list[Agent]:
        """``openstack network agent list``: alive while the last report is recent enough."""
        now = time.monotonic()
        with self._lock:
            return [Agent(r.agent_type, r.host, r.binary, self._is_alive(r, now),
                          now - r.heartbeat) for r in self._records.values()]

    def alive_hosts(self, agent_type: str) -> list[str]:
        """The hosts whose agent of ``agent_type`` is alive (what schedulers choose from)."""
        now = time.monotonic()
        with self._lock:
            return [r.host for r in self._records.values()
                    if r.agent_type == agent_type and self._is_alive(r, now)]

    def agent_health_check(self) -> None:
        """``agents_db.py:agent_health_check``: log the agents that stopped reporting."""
        now = time.monotonic()
        with self._lock:
            dead = [r for r in self._records.values() if not self._is_alive(r, now)]
            new = [r for r in dead if not r.was_dead]
            for record in new:
                record.was_dead = True
                self.dead_agents.append((record.binary, record.host))
            total = len(self._records)
        if dead:  # upstream logs a warning at every check; the lab only for news
            LOG.log(logging.WARNING if new else logging.DEBUG,
                    "Agent healthcheck: found %d dead agents out of %d:\n%s", len(dead),
                    total, "\n".join(f"{r.agent_type} {r.host}" for r in dead))
