"""nova-scheduler: picks a host, claims it in Placement, returns it with alternates.

``nova/scheduler/manager.py`` (``select_destinations``, ``_schedule``,
``_get_sorted_hosts``, ``_get_alternate_hosts``), ``nova/scheduler/host_manager.py``,
``nova/scheduler/filters/compute_filter.py``, ``nova/scheduler/weights/ram.py`` and
``cpu.py``.  The scheduler never messages a compute: it answers the conductor's
call with, for each instance, a list of ``Selection`` objects, the first claimed in
Placement, the others alternates for a reschedule.  It also listens on its fanout
queue for ``update_instance_info`` from the computes.

Simplified: the filters are ComputeFilter (service up and enabled) and a RAM and
a vCPU filter (``RamFilter`` and ``CoreFilter`` were removed in Stein, 19.0.0,
because Placement's allocation candidates already do that work; they are kept
because a lesson can read them); the weighers are RAM and CPU, normalized and
summed with multipliers 1.0; ``host_subset_size`` is 1 and ties go to the first
host by name, so a lab is repeatable.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from ... import rpc
from . import exception
from .conf import MAX_ATTEMPTS
from .context import RequestContext, target_cell
from .objects import (
    CellMapping,
    ComputeNode,
    HostMapping,
    RequestSpec,
    Selection,
    discover_hosts,
)
from .objects import Service as ServiceRecord
from .placement import ALLOCATION_REQUEST_VERSION, Placement, ReportClient, resources_from_flavor
from .service import NovaService, service_is_up

LOG = logging.getLogger(__name__)


@dataclass
class HostState:
    """What the scheduler knows of one compute node (``host_manager.py:HostState``)."""

    uuid: str
    host: str
    nodename: str
    cell_uuid: str | None
    free_ram_mb: int
    free_vcpus: int
    free_disk_gb: int
    service_up: bool = True
    disabled: bool = False
    allocation_candidates: list[dict] = field(default_factory=list)
    weight: float = 0.0

    def consume_from_request(self, flavor: dict) -> None:
        self.free_ram_mb -= flavor["memory_mb"]
        self.free_vcpus -= flavor["vcpus"]
        self.free_disk_gb -= flavor["root_gb"]


# -- filters: a host passes when each returns True ------------------------------------------


def compute_filter(host: HostState, flavor: dict) -> bool:
    """``ComputeFilter``: the compute service is enabled and up."""
    return host.service_up and not host.disabled


def ram_filter(host: HostState, flavor: dict) -> bool:
    """Enough free RAM (allocation ratio already applied by Placement's capacity)."""
    return host.free_ram_mb >= flavor["memory_mb"]


def vcpu_filter(host: HostState, flavor: dict) -> bool:
    return host.free_vcpus >= flavor["vcpus"]


FILTERS = (compute_filter, ram_filter, vcpu_filter)

#: Weighers: (what is weighed, multiplier); more free RAM or vCPUs is better (spreading).
WEIGHERS = ((lambda h: h.free_ram_mb, 1.0), (lambda h: h.free_vcpus, 1.0))


def weigh(hosts: list[HostState]) -> list[HostState]:
    """``nova/weights.py``: normalize each weigher to 0..1 over the hosts, sum, sort."""
    for host in hosts:
        host.weight = 0.0
    for value, multiplier in WEIGHERS:
        values = [value(h) for h in hosts]
        low, high = min(values, default=0), max(values, default=0)
        for host, v in zip(hosts, values, strict=True):
            host.weight += multiplier * ((v - low) / (high - low) if high > low else 0.0)
    return sorted(sorted(hosts, key=lambda h: h.host), key=lambda h: -h.weight)


class SchedulerManager:
    """``nova/scheduler/manager.py:SchedulerManager`` (v4.5)."""

    target = rpc.Target(version="4.5")

    def __init__(self, service: SchedulerService) -> None:
        self.service = service
        self.placement_client = ReportClient(service, Placement(service.db))
        #: host -> {instance uuid: Instance}, fed by the computes' fanout casts.
        self.instance_info: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @rpc.expected_exceptions(exception.NoValidHost)
    def select_destinations(self, context: RequestContext, request_spec: Any = None,
                            filter_properties: Any = None, spec_obj: RequestSpec | None = None,
                            instance_uuids: list[str] | None = None,
                            return_objects: bool = False,
                            return_alternates: bool = False) -> list[list[Selection]]:
        """A list, per instance, of Selections: the claimed host first, then alternates.

        NoValidHost is part of the answer, not a failure of the scheduler: the RPC server
        sends it back without logging it as an error (``expected_exceptions``)."""
        LOG.debug("Starting to schedule for instances: %s", instance_uuids)
        resources = resources_from_flavor(spec_obj.flavor)
        alloc_reqs, summaries = self.placement_client.get_allocation_candidates(context,
                                                                                 resources)
        if not alloc_reqs:
            LOG.info("Got no allocation candidates from the Placement API. This could be due "
                     "to insufficient resources or a temporary occurrence as compute nodes "
                     "start up.")
            raise exception.NoValidHost(reason="")
        by_rp: dict[str, list[dict]] = {}
        for request in alloc_reqs:
            for rp in request["allocations"]:
                by_rp.setdefault(rp, []).append(request)
        payload = {"request_spec": spec_obj.to_legacy_request_spec_dict()}
        self.service.notify(context, "scheduler.select_destinations.start",
                            "RequestSpecPayload", payload)
        selections = self._schedule(context, spec_obj, instance_uuids or [], by_rp, summaries,
                                    MAX_ATTEMPTS - 1 if return_alternates else 0)
        self.service.notify(context, "scheduler.select_destinations.end",
                            "RequestSpecPayload", payload)
        return selections

    def _host_states(self, context: RequestContext, summaries: dict,
                     by_rp: dict) -> list[HostState]:
        """The compute nodes of every cell (``HostManager._get_computes_for_cells``: the
        scheduler reads each cell's database; it never needs the cells' brokers)."""
        down_time = self.service.timings.service_down_time
        states = []
        cells = [target_cell(context, cell) for cell in CellMapping.get_all(context)
                 if not cell.is_cell0]
        for cctxt, node in [(c, n) for c in cells for n in ComputeNode.list_all(c)]:
            if node.uuid not in summaries:
                continue
            room = summaries[node.uuid]["resources"]
            record = ServiceRecord.get_by_host_and_binary(cctxt, node.host, "nova-compute")
            try:
                cell_uuid = HostMapping.get_by_host(context, node.host).cell_mapping.uuid
            except exception.HostMappingNotFound:
                cell_uuid = None  # not discovered yet: the conductor will not find its cell
            states.append(HostState(
                uuid=node.uuid, host=node.host, nodename=node.hypervisor_hostname,
                cell_uuid=cell_uuid,
                free_ram_mb=room["MEMORY_MB"]["capacity"] - room["MEMORY_MB"]["used"],
                free_vcpus=room["VCPU"]["capacity"] - room["VCPU"]["used"],
                free_disk_gb=room["DISK_GB"]["capacity"] - room["DISK_GB"]["used"],
                service_up=record is not None and service_is_up(record, down_time),
                disabled=bool(record and record.disabled),
                allocation_candidates=by_rp.get(node.uuid, [])))
        return states

    def _sorted_hosts(self, hosts: list[HostState], flavor: dict) -> list[HostState]:
        for check in FILTERS:
            hosts = [h for h in hosts if check(h, flavor)]
            if not hosts:
                LOG.info("Filter %s returned 0 hosts", check.__name__)
                return []
        return weigh(hosts)

    def _schedule(self, context: RequestContext, spec_obj: RequestSpec,
                  instance_uuids: list[str], by_rp: dict, summaries: dict,
                  num_alts: int) -> list[list[Selection]]:
        hosts = self._host_states(context.elevated(), summaries, by_rp)
        claimed: list[tuple[str, HostState, dict]] = []
        for instance_uuid in instance_uuids:
            sorted_hosts = self._sorted_hosts(hosts, spec_obj.flavor)
            chosen = None
            for host in sorted_hosts:
                if not host.allocation_candidates:
                    continue
                alloc_req = host.allocation_candidates[0]
                if self.placement_client.claim_resources(context, instance_uuid, alloc_req):
                    chosen = (instance_uuid, host, alloc_req)
                    break
            if chosen is None:
                LOG.debug("Unable to successfully claim against any host.")
                break
            claimed.append(chosen)
            chosen[1].consume_from_request(spec_obj.flavor)
        if len(claimed) != len(instance_uuids):
            for instance_uuid, _host, _req in claimed:
                self.placement_client.delete_allocation_for_instance(context, instance_uuid)
            raise exception.NoValidHost(reason="There are not enough hosts available.")
        result = []
        for _uuid, host, alloc_req in claimed:
            selections = [self._selection(host, alloc_req)]
            for alt in self._sorted_hosts(hosts, spec_obj.flavor):
                if len(selections) > num_alts:
                    break
                if alt.uuid != host.uuid and alt.allocation_candidates:
                    selections.append(self._selection(alt, alt.allocation_candidates[0]))
            result.append(selections)
        return result

    def _selection(self, host: HostState, alloc_req: dict) -> Selection:
        return Selection(compute_node_uuid=host.uuid, service_host=host.host,
                         nodename=host.nodename, cell_uuid=host.cell_uuid, limits={},
                         allocation_request=json.dumps(alloc_req),
                         allocation_request_version=ALLOCATION_REQUEST_VERSION)

    # -- what the computes fan out ---------------------------------------------------------

    def update_instance_info(self, context: RequestContext, host_name: str,
                             instance_info: Any) -> None:
        with self._lock:
            known = self.instance_info.setdefault(host_name, {})
            for instance in instance_info.objects or []:
                known[instance.uuid] = instance

    def delete_instance_info(self, context: RequestContext, host_name: str,
                             instance_uuid: str) -> None:
        with self._lock:
            self.instance_info.get(host_name, {}).pop(instance_uuid, None)

    def sync_instance_info(self, context: RequestContext, host_name: str,
                           instance_uuids: list[str]) -> None:
        with self._lock:
            known = self.instance_info.setdefault(host_name, {})
            for uuid in set(known) - set(instance_uuids):
                known.pop(uuid)


class SchedulerService(NovaService):
    """nova-scheduler (``nova/cmd/scheduler.py``): topic ``scheduler``."""

    binary = "nova-scheduler"
    topic = "scheduler"
    service_name = "scheduler"

    def managers(self) -> list[Any]:
        self.manager = SchedulerManager(self)
        return [self.manager]

    def periodic_tasks(self) -> None:
        self.every(self.timings.discover_hosts_interval, self.discover_hosts_in_cells,
                   "discover_hosts_in_cells")

    def discover_hosts_in_cells(self) -> list[str]:
        """``[scheduler] discover_hosts_in_cells_interval``: map new computes to their cell."""
        mapped = discover_hosts(self.context())
        if mapped:
            LOG.info("Found %d unmapped computes: %s", len(mapped), ", ".join(mapped))
        return mapped
