"""The knobs of the simulated Nova: timings, flavors, images, notification formats.

Real Nova reads these from ``nova.conf`` (``nova/conf/service.py``,
``nova/conf/servicegroup.py``, ``nova/conf/rpc.py``, ``nova/conf/notifications.py``,
``nova/conf/scheduler.py``) and oslo.messaging (``rpc_response_timeout``).  The lab keeps
the same names, with every delay divided by ten so a lesson does not wait a minute
for a service to be declared down.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ...i18n import _


@dataclass(frozen=True)
class Timings:
    """Every delay of the lab, in seconds (Nova's own default in brackets).

    ``build_time``: how long the fake hypervisor takes to spawn a VM.
    ``report_interval`` [10]: the service heartbeat (``Service.save()``); 0 turns it off.
    ``service_down_time`` [60]: a service with no heartbeat for this long is "down".
    ``rpc_response_timeout`` [60]: how long a call() waits for its reply.
    ``long_rpc_timeout`` [1800]: select_destinations' overall timeout (with a call
    monitor of ``rpc_response_timeout``).
    ``ping_timeout`` [10] and ``ping_attempts`` [10]: nova-compute's start-up ping of
    the conductor (``nova/conductor/api.py:wait_until_ready``).
    ``discover_hosts_interval`` [-1, off]: nova-scheduler maps new computes to cell1
    (``[scheduler] discover_hosts_in_cells_interval``); 0 or less turns it off.
    """

    build_time: float = 1.0
    report_interval: float = 1.0
    service_down_time: float = 6.0
    rpc_response_timeout: float = 6.0
    long_rpc_timeout: float = 180.0
    ping_timeout: float = 1.0
    ping_attempts: int = 10
    discover_hosts_interval: float = 2.0

    @classmethod
    def zero(cls) -> Timings:
        """No delays and no heartbeats, for tests and benchmarks: services never go down."""
        return cls(build_time=0.0, report_interval=0.0, service_down_time=3600.0,
                   rpc_response_timeout=5.0, long_rpc_timeout=30.0, ping_timeout=1.0,
                   discover_hosts_interval=0.0)

    @classmethod
    def nova(cls) -> Timings:
        """Nova's and oslo.messaging's own defaults (a real build takes tens of seconds)."""
        return cls(build_time=10.0, report_interval=10.0, service_down_time=60.0,
                   rpc_response_timeout=60.0, long_rpc_timeout=1800.0, ping_timeout=10.0,
                   discover_hosts_interval=-1.0)

    def replace(self, **changes: float) -> Timings:
        return replace(self, **changes)

    def as_dict(self) -> dict:
        return asdict(self)


#: ``openstack flavor list`` of a fresh DevStack (vcpus, memory_mb, root_gb).
FLAVORS = {
    "m1.nano": {"flavorid": "42", "vcpus": 1, "memory_mb": 128, "root_gb": 1},
    "m1.tiny": {"flavorid": "1", "vcpus": 1, "memory_mb": 512, "root_gb": 1},
    "m1.small": {"flavorid": "2", "vcpus": 1, "memory_mb": 2048, "root_gb": 20},
    "m1.medium": {"flavorid": "3", "vcpus": 2, "memory_mb": 4096, "root_gb": 40},
    "m1.large": {"flavorid": "4", "vcpus": 4, "memory_mb": 8192, "root_gb": 80},
    "m1.xlarge": {"flavorid": "5", "vcpus": 8, "memory_mb": 16384, "root_gb": 160},
}

#: What Glance would answer for ``GET /v2/images/<id>``.
IMAGES = {
    "cirros": {"id": "155d900f-4e14-4e4c-a73d-069cbf4541e6", "name": "cirros-0.6.2-x86_64-disk",
               "min_ram": 0, "min_disk": 0, "disk_format": "qcow2"},
    "ubuntu": {"id": "0f2b4c1e-8f4e-4f8a-9d55-2b2f6d3c7a10", "name": "ubuntu-24.04",
               "min_ram": 512, "min_disk": 3, "disk_format": "qcow2"},
}

#: A hypervisor's size, as its ComputeNode record and Placement inventory report it.
DEFAULT_RESOURCES = {"vcpus": 4, "memory_mb": 8192, "local_gb": 80}
#: ``[DEFAULT] initial_cpu_allocation_ratio`` / ``initial_ram_allocation_ratio`` /
#: ``initial_disk_allocation_ratio`` and ``reserved_host_memory_mb``.
ALLOCATION_RATIOS = {"VCPU": 4.0, "MEMORY_MB": 1.0, "DISK_GB": 1.0}
RESERVED_HOST_MEMORY_MB = 512
#: ``[scheduler] max_attempts``: the chosen host plus up to two alternates.
MAX_ATTEMPTS = 3
#: ``[DEFAULT] default_availability_zone`` (computes) and ``internal_service_availability_zone``.
DEFAULT_AZ = "nova"
INTERNAL_AZ = "internal"

#: ``notifications=`` of NovaCloud -> ``[notifications] notification_format``; False is
#: ``[oslo_messaging_notifications] driver = noop`` (nothing sent, Nova's default).
NOTIFICATION_FORMATS = ("versioned", "unversioned", "both")
#: The oslo.messaging notification drivers that publish on the bus (``notify/messaging.py``):
#: ``messaging`` without the 2.0 envelope, ``messagingv2`` with it.
BUS_DRIVERS = ("messaging", "messagingv2")


@dataclass(frozen=True)
class Notifications:
    """What decides Nova's notifications, as nova.conf spells it.

    ``driver`` and ``topics``: ``[oslo_messaging_notifications]`` (oslo.messaging's
    ``notify/notifier.py``: no driver, or only ``noop``, sends nothing); ``notification_format``
    and ``versioned_topics``: Nova's ``[notifications]`` (``nova/conf/notifications.py``).
    ``nova/rpc.py:init`` gives the legacy notifier the ``topics`` and the versioned one the
    ``versioned_topics``, and silences the family the format leaves out.
    """

    driver: tuple[str, ...] = ()
    topics: tuple[str, ...] = ("notifications",)
    notification_format: str = "unversioned"
    versioned_topics: tuple[str, ...] = ("versioned_notifications",)

    def senders(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """``{"versioned" | "legacy": (bus drivers, topics)}``, for the families that reach
        the bus (none when no driver publishes)."""
        drivers = tuple(dict.fromkeys(d for d in self.driver if d in BUS_DRIVERS))
        if not drivers:
            return {}
        families = {"versioned": self.versioned_topics, "legacy": self.topics}
        wanted = {"versioned": ("versioned", "both"), "legacy": ("unversioned", "both")}
        return {name: (drivers, topics) for name, topics in families.items()
                if self.notification_format in wanted[name] and topics}


def notification_settings(notifications: bool | str | Notifications) -> Notifications:
    """The settings ``notifications=`` stands for: False sends nothing; True or a format
    sends with ``messagingv2`` on the default topics."""
    if isinstance(notifications, Notifications):
        if notifications.notification_format not in NOTIFICATION_FORMATS:
            raise ValueError(_("notification_format must be versioned, unversioned or both, "
                               "not {value}.", value=repr(notifications.notification_format)))
        return notifications
    fmt = notification_format(notifications)
    if fmt is None:
        return Notifications()
    return Notifications(driver=("messagingv2",), notification_format=fmt)


def notification_format(notifications: bool | str | Notifications) -> str | None:
    """None (off), or the ``notification_format`` in force; True means versioned."""
    if isinstance(notifications, Notifications):
        return notification_settings(notifications).notification_format
    if notifications is True:
        return "versioned"
    if not notifications:
        return None
    if notifications not in NOTIFICATION_FORMATS:
        raise ValueError(_("notifications must be True, False, versioned, unversioned or both, "
                           "not {value}.", value=repr(notifications)))
    return str(notifications)
