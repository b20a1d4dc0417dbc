"""Placement, and Nova's client of it: HTTP in real OpenStack, never the message bus.

Placement (its own project and database) knows each hypervisor's inventory (VCPU,
MEMORY_MB, DISK_GB) and who uses what (allocations, by consumer = instance uuid).
Nova talks to it over HTTP through ``SchedulerReportClient``
(``nova/scheduler/client/report.py``): the scheduler asks for allocation candidates
and claims (``nova/scheduler/utils.py:claim_resources``), the conductor claims an
alternate when it reschedules, nova-compute reports its inventory and deletes
allocations.  Here each request is one function call, traced with
``Service.http()`` so the picture of a boot shows it beside the RPC messages.

Simplified: inventories are read from the ComputeNode records (which nova-compute
saves through the conductor, with the same numbers it PUTs to Placement);
allocation candidates are one provider each (no nested or shared providers); a
nova-compute without the store (on another machine) traces its requests but cannot
make them.
"""

from __future__ import annotations

import json
from typing import Any

from .conf import ALLOCATION_RATIOS, RESERVED_HOST_MEMORY_MB
from .context import RequestContext, target_cell
from .db import PLACEMENT_DB, Database
from .objects import CellMapping, ComputeNode

#: Placement microversion of the allocation requests the scheduler gets back.
ALLOCATION_REQUEST_VERSION = "1.36"


def resources_from_flavor(flavor: dict) -> dict[str, int]:
    """``nova/scheduler/utils.py:resources_from_request_spec``, for a plain flavor."""
    return {"VCPU": flavor["vcpus"], "MEMORY_MB": flavor["memory_mb"],
            "DISK_GB": flavor["root_gb"]}


class Placement:
    """The Placement service's data and its answers."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def inventories(self) -> dict[str, dict[str, Any]]:
        """Resource provider uuid -> {name, inventories {rc: {total, reserved, ratio}}}."""
        ctxt = RequestContext(backend=self.db)
        nodes = [node for cell in CellMapping.get_all(ctxt) if not cell.is_cell0
                 for node in ComputeNode.list_all(target_cell(ctxt, cell))]
        providers = {}
        for node in nodes:
            providers[node.uuid] = {"name": node.hypervisor_hostname, "inventories": {
                "VCPU": {"total": node.vcpus, "reserved": 0,
                         "allocation_ratio": node.cpu_allocation_ratio},
                "MEMORY_MB": {"total": node.memory_mb, "reserved": RESERVED_HOST_MEMORY_MB,
                              "allocation_ratio": node.ram_allocation_ratio},
                "DISK_GB": {"total": node.local_gb, "reserved": 0,
                            "allocation_ratio": node.disk_allocation_ratio}}}
        return providers

    def usages(self) -> dict[str, dict[str, int]]:
        used: dict[str, dict[str, int]] = {}
        for record in self.db.list(PLACEMENT_DB, "allocations"):
            for rp, alloc in record["allocations"].items():
                for rc, amount in alloc["resources"].items():
                    used.setdefault(rp, {}).setdefault(rc, 0)
                    used[rp][rc] += amount
        return used

    def provider_summaries(self) -> dict[str, dict]:
        used = self.usages()
        summaries = {}
        for rp, provider in self.inventories().items():
            summaries[rp] = {"name": provider["name"], "resources": {
                rc: {"capacity": int((inv["total"] - inv["reserved"])
                                     * (inv["allocation_ratio"] or ALLOCATION_RATIOS[rc])),
                     "used": used.get(rp, {}).get(rc, 0)}
                for rc, inv in provider["inventories"].items()}}
        return summaries

    def allocation_candidates(self, resources: dict[str, int]) -> tuple[list[dict], dict]:
        """``GET /allocation_candidates``: providers with room for all the resources."""
        summaries = self.provider_summaries()
        requests, fitting = [], {}
        for rp, summary in summaries.items():
            room = summary["resources"]
            if all(rc in room and room[rc]["used"] + amount <= room[rc]["capacity"]
                   for rc, amount in resources.items()):
                requests.append({"allocations": {rp: {"resources": dict(resources)}}})
                fitting[rp] = summary
        return requests, fitting

    def claim(self, consumer: str, allocation_request: dict) -> bool:
        """``PUT /allocations/{consumer}``: replaces the consumer's allocations, or 409."""
        with self.db.transaction():
            self.db.delete(PLACEMENT_DB, "allocations", consumer)
            summaries = self.provider_summaries()
            for rp, alloc in allocation_request["allocations"].items():
                room = summaries.get(rp, {}).get("resources", {})
                for rc, amount in alloc["resources"].items():
                    if rc not in room or room[rc]["used"] + amount > room[rc]["capacity"]:
                        raise _Conflict()
            self.db.put(PLACEMENT_DB, "allocations", consumer,
                        {"consumer": consumer, **allocation_request})
        return True

    def delete_allocations(self, consumer: str) -> bool:
        """``DELETE /allocations/{consumer}``."""
        return self.db.delete(PLACEMENT_DB, "allocations", consumer)

    def consumer_allocations(self, consumer: str) -> dict[str, dict]:
        """``GET /allocations/{consumer}``: resource provider -> {resources}."""
        record = self.db.get(PLACEMENT_DB, "allocations", consumer)
        return dict(record["allocations"]) if record else {}

    def provider_allocations(self, rp_uuid: str) -> dict[str, dict]:
        """``GET /resource_providers/{uuid}/allocations``: consumer -> {resources}."""
        return {record["consumer"]: record["allocations"][rp_uuid]
                for record in self.db.list(PLACEMENT_DB, "allocations")
                if rp_uuid in record["allocations"]}


class _Conflict(Exception):
    """409: the claim does not fit any more (rolled back)."""


class ReportClient:
    """``SchedulerReportClient``: a service's HTTP client of Placement.

    ``placement`` None: the service cannot reach the store (a compute on another
    machine); requests are traced only.
    """

    def __init__(self, service: Any, placement: Placement | None) -> None:
        self.service = service
        self.placement = placement

    def _http(self, ctxt: RequestContext, method: str, path: str) -> None:
        self.service.http("placement", method, path, request_id=ctxt.request_id)

    def get_allocation_candidates(self, ctxt: RequestContext,
                                  resources: dict[str, int]) -> tuple[list[dict], dict]:
        query = ",".join(f"{rc}:{n}" for rc, n in sorted(resources.items()))
        self._http(ctxt, "GET", f"/allocation_candidates?resources={query}&limit=1000")
        if self.placement is None:
            return [], {}
        return self.placement.allocation_candidates(resources)

    def claim_resources(self, ctxt: RequestContext, consumer: str,
                        allocation_request: dict | str) -> bool:
        """``nova/scheduler/utils.py:claim_resources``; False when Placement says 409."""
        if isinstance(allocation_request, str):
            allocation_request = json.loads(allocation_request)
        self._http(ctxt, "PUT", f"/allocations/{consumer}")
        if self.placement is None:
            return True
        try:
            return self.placement.claim(consumer, allocation_request)
        except _Conflict:
            return False

    def delete_allocation_for_instance(self, ctxt: RequestContext, consumer: str) -> None:
        self._http(ctxt, "DELETE", f"/allocations/{consumer}")
        if self.placement is not None:
            self.placement.delete_allocations(consumer)

    def get_allocations_for_consumer(self, ctxt: RequestContext,
                                     consumer: str) -> dict[str, dict]:
        """What the instance holds, by resource provider (the build reads it before its
        claim, ``ComputeManager._build_and_run_instance``)."""
        self._http(ctxt, "GET", f"/allocations/{consumer}")
        return self.placement.consumer_allocations(consumer) if self.placement else {}

    def get_allocations_for_resource_provider(self, ctxt: RequestContext,
                                              rp_uuid: str) -> dict[str, dict]:
        """Who holds resources on a compute node, by consumer (``init_host``)."""
        self._http(ctxt, "GET", f"/resource_providers/{rp_uuid}/allocations")
        return self.placement.provider_allocations(rp_uuid) if self.placement else {}

    def set_inventory_for_provider(self, ctxt: RequestContext, rp_uuid: str) -> None:
        self._http(ctxt, "PUT", f"/resource_providers/{rp_uuid}/inventories")
