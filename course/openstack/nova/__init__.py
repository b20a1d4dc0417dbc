"""A small but faithful Nova on the message bus: nova-api, -conductor, -scheduler, -compute.

Read in this order: :mod:`.cloud` (what a lesson calls), :mod:`.rpcapi` (every
message and its version), :mod:`.service` (how a service starts), :mod:`.api`,
:mod:`.conductor`, :mod:`.scheduler`, :mod:`.compute` (with :mod:`.resource_tracker`
and the fake hypervisor, :mod:`.virt`), then :mod:`.base` (how ``instance.save()`` on a
compute becomes a conductor call), :mod:`.objects` and :mod:`.events` (the objects),
:mod:`.versions` (upstream's version numbers), :mod:`.placement` (HTTP, not the bus)
and :mod:`.db`.
"""

from .cells import list_cells, setup_cells
from .cloud import NovaCloud, Server, make_service, run_service
from .conf import FLAVORS, IMAGES, Notifications, Timings
from .db import Database

__all__ = ["FLAVORS", "IMAGES", "Database", "Notifications", "NovaCloud", "Server", "Timings",
           "list_cells", "make_service", "run_service", "setup_cells"]
