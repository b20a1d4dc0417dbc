"""The clocks of a Neutron deployment: upstream's option defaults, or faster ones for a lab."""

from __future__ import annotations

from dataclasses import dataclass

from ..service import coerce_timings


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
