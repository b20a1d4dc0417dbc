"""What every Neutron agent does: report its state, and work in one loop thread; and the
agents' RPC clients of ``neutron/agent/rpc.py`` (:class:`PluginReportStateAPI`,
:class:`PluginApi`), with the versions they send.

The first report (``start_flag``) registers the agent with neutron-server; then
one every ``report_interval``.  The OVS, DHCP and L3 agents all report with ``call``
(``use_call=True``, ``neutron/agent/rpc.py:PluginReportStateAPI``), so a report
answers: ``new``, ``alive``, or ``revived`` (the server thought the agent dead: it
then does a full sync).  A report waits ``report_interval`` for its answer, not
``rpc_response_timeout``: one that is not answered before the next is due has failed.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from ... import rpc
from ...trace import Trace
from ..service import Service
from .conf import NeutronTimings
from .constants import (
    AGENT_REVIVED,
    CONTROL_EXCHANGE,
    ISO8601_TIME_FORMAT,
    L2_AGENT_TOPIC,
    PLUGIN,
    REPORTS,
    RPC_NAMESPACE_STATE,
)
from .context import admin_context

LOG = logging.getLogger(__name__)


class PluginReportStateAPI:
    """``neutron/agent/rpc.py:PluginReportStateAPI``: an agent's reports to
    ``q-reports-plugin`` (API 1.4), each with a ``uuid`` the server logs, so that a
    report can be matched on both sides."""

    def __init__(self, service: Service, report_interval: float) -> None:
        self.client = service.client(REPORTS, version="1.4", namespace=RPC_NAMESPACE_STATE)
        #: ``cfg.CONF.AGENT.report_interval``; the lab's 0 (only the first report, where
        #: upstream sends none) falls back to ``rpc_response_timeout``.
        self.timeout = report_interval or None

    def report_state(self, ctxt: dict, agent_state: dict, use_call: bool = False) -> Any:
        cctxt = self.client.prepare(timeout=self.timeout)
        agent_state["uuid"] = str(uuid.uuid4())
        kwargs = {"agent_state": {"agent_state": agent_state},
                  "time": datetime.now(timezone.utc).strftime(ISO8601_TIME_FORMAT)}
        method = cctxt.call if use_call else cctxt.cast
        return method(ctxt, "report_state", **kwargs)


class PluginApi:
    """``neutron/agent/rpc.py:PluginApi``: what an L2 agent calls on ``q-plugin`` to wire
    its ports (API 1.9)."""

    def __init__(self, service: Service, agent_id: str) -> None:
        self.client = service.client(PLUGIN, version="1.9")
        self.agent_id = agent_id
        self.host = service.host

    def get_devices_details_list(self, ctxt: dict, devices: list[str]) -> list[dict]:
        cctxt = self.client.prepare(version="1.9")
        return cctxt.call(ctxt, "get_devices_details_list", devices=devices,
                          agent_id=self.agent_id, host=self.host)

    def update_device_list(self, ctxt: dict, devices_up: list[str], devices_down: list[str],
                           refresh_tunnels: bool = False) -> dict:
        cctxt = self.client.prepare(version="1.9")
        return cctxt.call(ctxt, "update_device_list", devices_up=devices_up,
                          devices_down=devices_down, agent_id=self.agent_id, host=self.host,
                          refresh_tunnels=refresh_tunnels)


class NeutronAgent(Service):
    """The base of the OVS, DHCP and L3 agents (see the module's docstring)."""

    control_exchange = CONTROL_EXCHANGE
    agent_type = ""
    agent_topic = L2_AGENT_TOPIC
    #: Object versions the agent reports until one report succeeds (L2 agents only).
    resource_versions: dict[str, str] | None = None

    def __init__(self, host: str, url: str | None = None, trace: Trace | None = None,
                 timings: NeutronTimings | None = None, options: dict | None = None) -> None:
        self.timings = timings or NeutronTimings()
        options = {"rpc_response_timeout": self.timings.rpc_response_timeout, **(options or {})}
        super().__init__(host, url, trace, options)
        self.state_rpc = PluginReportStateAPI(self, self.timings.report_interval)
        #: What the last report_state returned: new, alive or revived.
        self.last_report: str | None = None
        #: Every notification this agent has handled: (method, arguments), noted once
        #: its endpoint is done with it (so a wait on it sees the agent's new state).
        self.received: list[tuple[str, dict]] = []
        self._received_cond = threading.Condition()
        self._start_flag = True
        self._report_versions = False
        self._loop: ThreadPoolExecutor | None = None
        #: Set once the first report and the first sync are done (or failed).
        self.synced = threading.Event()

    def configurations(self) -> dict:
        return {}

    def on_start(self) -> None:
        self._start_flag = True
        self._report_versions = bool(self.resource_versions)
        self.synced.clear()
        self._loop = ThreadPoolExecutor(1, thread_name_prefix=f"{self.name} loop")
        self.submit(self.report_state)
        self.submit(self.sync)
        self.submit(self.synced.set)
        self.every(self.timings.report_interval, self.report_state, "report_state")

    def on_stop(self) -> None:
        if self._loop is not None:
            self._loop.shutdown(wait=True, cancel_futures=True)
            self._loop = None

    def submit(self, task: Callable, *args: Any) -> None:
        """Queue work for the agent's loop (its ``rpc_loop`` / ``_process_routers_loop``)."""
        loop = self._loop
        if loop is None or not self.running:
            return

        def run() -> None:
            try:
                task(*args)
            except rpc.MessagingException as error:
                LOG.warning("%s: %s failed: %s", self.name, task.__name__, error)
            except Exception:
                LOG.exception("%s: %s failed", self.name, task.__name__)

        try:
            loop.submit(run)
        except RuntimeError:  # shut down meanwhile
            pass

    def sync(self) -> None:
        """What the agent fetches once started (subclasses)."""

    def report_state(self) -> str | None:
        """``_report_state``: one report (a call); what the server answered, or None if
        it did not answer in time."""
        state = {"binary": self.binary, "host": self.host, "topic": self.agent_topic,
                 "agent_type": self.agent_type, "configurations": self.configurations()}
        if self._start_flag:
            state["start_flag"] = True
        if self._report_versions:
            state["resource_versions"] = dict(self.resource_versions or {})
        try:
            result = self.state_rpc.report_state(admin_context(), state, use_call=True)
        except rpc.MessagingTimeout:
            LOG.warning("%s: Failed reporting state!", self.name)
            return None
        self._start_flag = False
        self._report_versions = False
        self.last_report = result
        if result == AGENT_REVIVED:
            LOG.info("%s: Agent has just been revived. Doing a full sync.", self.name)
            self.submit(self.sync)
        return result

    def note_received(self, method: str, **kwargs: Any) -> None:
        """Note a notification from the server (the endpoints call it last)."""
        with self._received_cond:
            self.received.append((method, kwargs))
            self._received_cond.notify_all()

    def wait_received(self, match: Callable[[str, dict], bool], timeout: float) -> bool:
        """Wait until a notification ``match(method, arguments)`` has been received."""
        with self._received_cond:
            return self._received_cond.wait_for(
                lambda: any(match(m, a) for m, a in self.received), timeout)
