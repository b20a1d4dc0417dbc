"""nova-conductor: the database proxy of the computes and the orchestrator of builds.

``nova/conductor/manager.py``.  Its RPC server (topic ``conductor``) carries three
endpoints: ``ConductorManager`` (no namespace, v3.0: ``object_action``,
``object_class_action_versions``), ``ComputeTaskManager`` (namespace
``compute_task``, v1.26: ``schedule_and_build_instances``, ``build_instances``) and
``BaseRPCAPI`` (namespace ``baseapi``: ``ping``).

A boot, as the conductor sees it: nova-api **casts** ``schedule_and_build_instances``;
the conductor **calls** the scheduler's ``select_destinations`` (which claims in
Placement), creates the instance in the chosen cell's database, maps it, deletes the
BuildRequest and **casts** ``build_and_run_instance`` to ``compute.<host>``, on that
cell's broker (the context targets the cell's mapping, so the compute client goes
through the cell's transport_url).  In a multi-cell deployment this conductor is the
**super-conductor**, on the API broker beside nova-api and nova-scheduler; each cell
has its own conductor, on its own broker, which answers its computes' calls and
their reschedules (``build_instances``), and cannot reach the scheduler.  When the
scheduler finds no host, the instance is created in cell0, in ERROR ("buried").
When a build fails, the compute casts ``build_instances`` back with the alternate
hosts, and the conductor claims the next one and casts again, without calling the
scheduler.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ... import rpc
from . import exception
from .base import REGISTRY, NovaObject
from .conf import MAX_ATTEMPTS
from .context import RequestContext, target_cell
from .events import InstanceAction
from .objects import (
    CELL0_UUID,
    ERROR,
    BlockDeviceMappingList,
    BuildRequest,
    CellMapping,
    HostMapping,
    Instance,
    InstanceMapping,
    RequestSpec,
)
from .placement import Placement, ReportClient
from .rpcapi import ComputeAPI, SchedulerAPI
from .service import NovaService

LOG = logging.getLogger(__name__)


class ConductorManager:
    """What nova-compute asks instead of touching the database itself."""

    target = rpc.Target(version="3.0")

    def object_action(self, context: RequestContext, objinst: NovaObject, objmethod: str,
                      args: list, kwargs: dict) -> list:
        """Run ``objinst.<objmethod>()`` here, send back the fields that changed."""
        oldobj = objinst.obj_clone()
        result = getattr(objinst, objmethod)(*args, **kwargs)
        updates = {name: value for name, value in objinst._data.items()
                   if name not in oldobj._data or oldobj._data[name] != value}
        updates["obj_what_changed"] = sorted(objinst.obj_what_changed())
        return [updates, result]

    def object_class_action_versions(self, context: RequestContext, objname: str,
                                     objmethod: str, object_versions: dict, args: list,
                                     kwargs: dict) -> Any:
        """Run a class method (``Service.get_by_host_and_binary``...) here."""
        objclass = REGISTRY[objname]
        return getattr(objclass, objmethod)(context, *args, **kwargs)


def populate_retry(filter_properties: dict, instance_uuid: str) -> None:
    """``nova/scheduler/utils.py:populate_retry``: count attempts, stop after max_attempts."""
    if MAX_ATTEMPTS == 1:
        return
    retry = filter_properties.setdefault("retry", {"num_attempts": 0, "hosts": []})
    retry["num_attempts"] += 1
    exc_reason = retry.pop("exc_reason", None)
    if retry["num_attempts"] > MAX_ATTEMPTS:
        raise exception.MaxRetriesExceeded(reason=(
            f"Exceeded max scheduling attempts {MAX_ATTEMPTS} for instance {instance_uuid}. "
            f"Last exception: {exc_reason}"))


def populate_filter_properties(filter_properties: dict, selection: Any) -> None:
    """Note the chosen host in ``retry.hosts`` and its limits."""
    retry = filter_properties.get("retry")
    if retry:
        retry["hosts"].append([selection.service_host, selection.nodename])
    filter_properties["limits"] = selection.limits or {}


class ComputeTaskManager:
    """Builds (and rebuilds, migrates... not simulated): the conductor's orchestration."""

    target = rpc.Target(namespace="compute_task", version="1.26")

    def __init__(self, service: ConductorService) -> None:
        self.service = service
        self.query_client = SchedulerAPI(service)
        self.compute_rpcapi = ComputeAPI(service)
        self.report_client = ReportClient(service, Placement(service.db))

    # -- the boot ------------------------------------------------------------------------

    def schedule_and_build_instances(self, context: RequestContext, build_requests: list,
                                     request_specs: list, image: dict, admin_password: Any,
                                     injected_files: list, requested_networks: Any,
                                     block_device_mapping: list, tags: list | None = None
                                     ) -> None:
        instance_uuids = [spec.instance_uuid for spec in request_specs]
        try:
            host_lists = self._schedule_instances(context, request_specs[0], instance_uuids)
        except Exception as exc:
            LOG.error("Failed to schedule instances: %s", str(exc).splitlines()[0])
            self._bury_in_cell0(context, request_specs[0], exc, build_requests)
            return
        cells: dict[str, CellMapping] = {}
        built = []
        for build_request, request_spec, host_list in zip(build_requests, request_specs,
                                                         host_lists, strict=False):
            uuid, host = build_request.instance_uuid, host_list[0]
            try:
                cell = HostMapping.get_by_host(context, host.service_host).cell_mapping
            except exception.HostMappingNotFound as exc:
                LOG.error("No host-to-cell mapping found for selected host %s. Setup is "
                          "incomplete.", host.service_host)
                self.report_client.delete_allocation_for_instance(context, uuid)
                self._bury_in_cell0(context, request_spec, exc, [build_request])
                continue
            try:
                BuildRequest.get_by_instance_uuid(context, uuid)
            except exception.BuildRequestNotFound:
                LOG.debug("While scheduling instance %s, the build request was already "
                          "deleted.", uuid)
                self.report_client.delete_allocation_for_instance(context, uuid)
                continue
            instance = build_request.get_new_instance(target_cell(context, cell))
            instance.create()
            cells[instance.uuid] = cell
            built.append((build_request, request_spec, host_list, instance))

        for build_request, request_spec, host_list, instance in built:
            cell = cells[instance.uuid]
            cctxt = target_cell(context, cell)
            host = host_list.pop(0)
            LOG.debug("Selected host: %s; Selected node: %s; Alternates: %s",
                      host.service_host, host.nodename,
                      [(alt.service_host, alt.nodename) for alt in host_list])
            filter_props = request_spec.to_legacy_filter_properties_dict()
            populate_retry(filter_props, instance.uuid)
            populate_filter_properties(filter_props, host)
            InstanceAction.action_start(cctxt, instance.uuid, "create", want_result=False)
            instance_bdms = BlockDeviceMappingList.create_for_instance(
                cctxt, instance.uuid, build_request.block_device_mappings)
            mapping = InstanceMapping.get_by_instance_uuid(context, instance.uuid)
            mapping.cell_mapping = cell
            mapping.save()
            try:
                build_request.destroy()
            except exception.BuildRequestNotFound:
                LOG.debug("Build request deleted during scheduling: deleting instance %s.",
                          instance.uuid)
                instance.destroy()
                self.report_client.delete_allocation_for_instance(context, instance.uuid)
                continue
            self.compute_rpcapi.build_and_run_instance(
                cctxt, instance=instance, host=host.service_host, image=image,
                request_spec=request_spec, filter_properties=filter_props,
                admin_password=admin_password, injected_files=injected_files,
                requested_networks=requested_networks,
                security_groups=list(request_spec.security_groups or ["default"]),
                block_device_mapping=instance_bdms, node=host.nodename,
                limits=host.limits or {}, host_list=host_list)

    def _schedule_instances(self, context: RequestContext, request_spec: RequestSpec,
                            instance_uuids: list[str]) -> list[list]:
        return self.query_client.select_destinations(
            context, request_spec, instance_uuids, return_objects=True, return_alternates=True)

    def _bury_in_cell0(self, context: RequestContext, request_spec: Any, exc: Exception,
                       build_requests: list) -> None:
        """No host: create the instance in cell0, in ERROR, and map it there."""
        cell0 = CellMapping.get_by_uuid(context, CELL0_UUID)
        cctxt = target_cell(context, cell0)
        for build_request in build_requests:
            instance = build_request.get_new_instance(cctxt)
            instance.create()
            mapping = InstanceMapping.get_by_instance_uuid(context, instance.uuid)
            mapping.cell_mapping = cell0
            mapping.save()
            InstanceAction.action_start(cctxt, instance.uuid, "create", want_result=False)
            BlockDeviceMappingList.create_for_instance(cctxt, instance.uuid,
                                                       build_request.block_device_mappings)
            self._set_vm_state_and_notify(cctxt, instance, exc, request_spec)
            try:
                build_request.destroy()
            except exception.BuildRequestNotFound:
                LOG.debug("Build request already deleted for instance %s", instance.uuid)

    def _set_vm_state_and_notify(self, context: RequestContext, instance: Instance,
                                 exc: Exception, request_spec: Any = None) -> None:
        """``nova/scheduler/utils.py:set_vm_state_and_notify``: ERROR, and say why, the
        legacy way from ``compute_task.<host>`` (``rpc.get_notifier('compute_task')``) and
        the versioned way from ``nova-conductor:<host>``."""
        method = "build_instances"
        LOG.warning("Failed to compute_task_%s: %s", method, exc)
        instance.vm_state = ERROR
        instance.task_state = None
        instance.save()
        spec = request_spec.to_legacy_request_spec_dict() if request_spec is not None else {}
        legacy = {"request_spec": spec, "instance_properties":
                  spec.get("instance_properties", {}), "instance_id": instance.uuid,
                  "state": ERROR, "method": method, "reason": repr(exc)}
        self.service.notify(context, f"compute_task.{method}.error", "ComputeTaskPayload",
                            {"instance_uuid": instance.uuid, "state": ERROR,
                             "reason": {"exception": type(exc).__name__.removesuffix("_Remote"),
                                        "exception_message": str(exc).splitlines()[0]}},
                            priority="error", legacy_event_type=f"compute_task.{method}",
                            legacy_payload=legacy, legacy_service="compute_task")

    # -- the reschedule ------------------------------------------------------------------

    def build_instances(self, context: RequestContext, instances: list, image: dict,
                        filter_properties: dict, admin_password: Any, injected_files: list,
                        requested_networks: Any, security_groups: list,
                        block_device_mapping: list | None = None, legacy_bdm: bool = True,
                        request_spec: Any = None, host_lists: list | None = None) -> None:
        """A compute failed to build: try the next alternate host, without the scheduler.

        (A ``build_instances`` without ``host_lists`` comes from an old compute and
        calls the scheduler: not simulated.)
        """
        try:
            populate_retry(filter_properties, instances[0].uuid)
            if not host_lists or not host_lists[0]:
                raise exception.MaxRetriesExceeded(reason=(
                    "Exhausted all hosts available for retrying build failures for instance "
                    f"{instances[0].uuid}."))
        except exception.NoValidHost as exc:
            for instance in instances:
                self._set_vm_state_and_notify(context, instance, exc, request_spec)
            return
        for instance, host_list in zip(instances, host_lists, strict=False):
            host, available = host_list.pop(0), False
            while host is not None and not available:
                if host.allocation_request:
                    available = self.report_client.claim_resources(
                        context, instance.uuid, json.loads(host.allocation_request))
                else:
                    available = True
                if not available:
                    host = host_list.pop(0) if host_list else None
            if not available:
                exc = exception.MaxRetriesExceeded(reason=(
                    "Exhausted all hosts available for retrying build failures for instance "
                    f"{instance.uuid}."))
                self._set_vm_state_and_notify(context, instance, exc, request_spec)
                continue
            populate_filter_properties(filter_properties, host)
            # the cast carries no block devices (1.19): read them from the cell database
            bdms = BlockDeviceMappingList.get_by_instance_uuid(context, instance.uuid)
            self.compute_rpcapi.build_and_run_instance(
                context, instance=instance, host=host.service_host, image=image,
                request_spec=request_spec, filter_properties=filter_properties,
                admin_password=admin_password, injected_files=injected_files,
                requested_networks=requested_networks, security_groups=security_groups,
                block_device_mapping=bdms, node=host.nodename,
                limits=host.limits or {}, host_list=host_list)


class ConductorService(NovaService):
    """nova-conductor (``nova/cmd/conductor.py``): topic ``conductor``."""

    binary = "nova-conductor"
    topic = "conductor"
    service_name = "conductor"

    def managers(self) -> list[Any]:
        return [ConductorManager(), ComputeTaskManager(self)]
