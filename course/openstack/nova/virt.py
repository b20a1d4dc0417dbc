"""The fake hypervisor of the lab (``nova/virt/fake.py``): spawning only waits.

A test or a lesson makes it fail on purpose (:meth:`FakeDriver.fail`) to watch a
reschedule.  Like upstream's fake driver, it waits for no event from Neutron before
it reports the guest running.
"""

from __future__ import annotations

import threading
import time
import uuid

from ...i18n import _
from . import exception
from .conf import DEFAULT_RESOURCES
from .objects import NOSTATE, RUNNING, SHUTDOWN, Instance


class FakeHypervisorError(exception.NovaException):
    msg_fmt = "%(reason)s"


class FakeDriver:
    """A hypervisor that only waits ``build_time``; failures can be injected per host."""

    def __init__(self, host: str, build_time: float, resources: dict | None = None) -> None:
        self.host = host
        self.build_time = build_time
        self.resources = {**DEFAULT_RESOURCES, **(resources or {})}
        self.power: dict[str, int] = {}
        self._failures = 0
        self._lock = threading.Lock()

    def fail(self, times: int = 1) -> None:
        """Make the next ``times`` spawns fail (-1: all of them; 0: none)."""
        with self._lock:
            self._failures = times

    def spawn(self, instance: Instance) -> None:
        with self._lock:
            failing = self._failures != 0
            if self._failures > 0:
                self._failures -= 1
        if failing:
            raise FakeHypervisorError(reason=_(
                "The hypervisor of {host} failed to spawn the instance (injected failure).",
                host=self.host))
        if self.build_time > 0:
            time.sleep(self.build_time)
        self.power[instance.uuid] = RUNNING

    def power_off(self, instance: Instance) -> None:
        self.power[instance.uuid] = SHUTDOWN

    def power_on(self, instance: Instance) -> None:
        self.power[instance.uuid] = RUNNING

    def destroy(self, instance: Instance) -> None:
        self.power.pop(instance.uuid, None)

    def get_console_output(self, instance: Instance) -> str:
        return "FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE"  # nova/virt/fake.py

    def get_power_state(self, instance: Instance) -> int:
        return self.power.get(instance.uuid, NOSTATE)

    def get_nodenames_by_uuid(self) -> dict[str, str]:
        """One node, named after the host; its uuid is the local node identity
        (``nova/virt/node.py``), here derived from the host name so it is stable."""
        return {str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{self.host}.compute-node")): self.host}
