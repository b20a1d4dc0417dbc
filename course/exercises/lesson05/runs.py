"""What lesson 05's third check runs: the lab's Nova again, with the learner's
notification settings, and one boot; what reached the bus is read from the trace and the
broker."""

from __future__ import annotations

from ...i18n import N_
from ...openstack.nova import Notifications, NovaCloud, Timings
from .. import evidence
from ..core import NotYet

PROBE = "check-vm"


def boot_with(settings: Notifications) -> dict[str, int]:
    """Stop the lab's Nova, start one with ``settings``, boot ``check-vm``; return each
    queue a notification of that boot was published to, with the messages it holds now.

    The trace says which queues this boot published to (a queue left by an earlier run
    on RabbitMQ does not count); the broker says they exist and hold the messages.  The
    new cloud stays up, for the learner to look at with ``lab.topology()``.
    """
    lab = evidence.lab()
    for cloud in lab.clouds:
        if isinstance(cloud, NovaCloud):
            cloud.stop()
    cloud = lab.nova(computes=["compute1"], timings=Timings.zero(), notifications=settings)
    server = cloud.boot(PROBE)
    if server.wait(timeout=10) != "ACTIVE":
        raise NotYet(N_("The check's boot did not end ACTIVE, so it cannot say which "
                        "queues a boot fills: run `lab = course.Lab()` again, then check "
                        "again."))
    keys = {hop.routing_key for hop in server.hops if hop.kind == "notify"}
    queues = lab.topology().queues
    return {key: queues[key].messages for key in sorted(keys) if key in queues}
