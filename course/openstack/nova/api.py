"""nova-api: the REST API, an RPC client only (no RPC server, no queue but its replies).

``nova/compute/api.py`` (``create`` -> ``_provision_instances``, ``stop``, ``start``,
``_delete``), ``nova/api/openstack/compute/servers.py``, ``nova/api/openstack/common.py``
(status from vm_state and task_state), ``nova/api/openstack/compute/services.py``.

``POST /servers`` writes the BuildRequest, RequestSpec and InstanceMapping (no cell
yet) in the API database, **casts** ``schedule_and_build_instances`` to the conductor
and answers 202 at once: the instance does not exist in any cell yet.  Stop, start
and delete save the task_state in the cell database and **cast** to
``compute.<host>``, on the broker of the instance's cell (``target_cell``).
``POST /os-server-external-events`` (Neutron's
``network-vif-plugged``...) **casts** ``external_instance_event`` to
``compute-alt.<host>`` (``nova/api/openstack/compute/server_external_events.py``).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from ...i18n import _
from . import exception
from .conf import FLAVORS, IMAGES
from .context import RequestContext, make_context, target_cell
from .events import InstanceAction, InstanceExternalEvent
from .objects import (
    ACTIVE,
    BUILDING,
    CELL0_UUID,
    DELETED,
    DELETING,
    ERROR,
    NOSTATE,
    POWERING_OFF,
    POWERING_ON,
    SCHEDULING,
    STOPPED,
    BlockDeviceMapping,
    BuildRequest,
    CellMapping,
    Instance,
    InstanceMapping,
    RequestSpec,
)
from .objects import Service as ServiceRecord
from .placement import Placement, ReportClient
from .rpcapi import ComputeAPI, ComputeTaskAPI
from .service import NovaService, service_is_up

LOG = logging.getLogger(__name__)

#: ``nova/api/openstack/common.py:_STATE_MAP`` (the defaults; task states refine some).
STATUS = {BUILDING: "BUILD", ACTIVE: "ACTIVE", STOPPED: "SHUTOFF", ERROR: "ERROR",
          DELETED: "DELETED"}
#: Who sends the REST requests, in the trace.
CLIENT = "openstack"
#: ``server_external_events.py``: events refused without a tag.
TAG_REQUIRED = ("volume-extended", "power-update", "accelerator-request-bound")


def api_status(vm_state: str | None, task_state: str | None) -> str:
    if vm_state == ACTIVE and task_state == "rebooting":
        return "REBOOT"
    return STATUS.get(vm_state or "", "UNKNOWN")


class APIService(NovaService):
    """nova-api (``nova/api/openstack/compute/``), a WSGI application in real life."""

    binary = "nova-api"
    topic = None
    service_name = "api"
    reports_state = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.compute_task_api = ComputeTaskAPI(self)
        self.compute_rpcapi = ComputeAPI(self)
        self.reportclient = ReportClient(self, Placement(self.db))

    def _request(self, method: str, path: str, request_id: str | None = None,
                 caller: str = CLIENT) -> RequestContext:
        """A REST request arrives: a new context (and request id), traced as HTTP."""
        ctxt = make_context(self.db, request_id=request_id)
        if self.trace is not None:
            self.trace.record("http", "http", caller, method=f"{method} {path}",
                              peer=self.name, request_id=ctxt.request_id)
        return ctxt

    # -- servers ---------------------------------------------------------------------------

    def create_server(self, name: str, flavor: str = "m1.tiny", image: str = "cirros",
                      request_id: str | None = None) -> dict:
        """``POST /v2.1/servers``: returns the 202 body at once (id and request id)."""
        ctxt = self._request("POST", "/v2.1/servers", request_id)
        if flavor not in FLAVORS:
            raise exception.FlavorNotFound(
                _("Flavor {flavor} could not be found. Flavors: {choices}.", flavor=flavor,
                  choices=", ".join(FLAVORS)), flavor_id=flavor)
        if image not in IMAGES:
            raise exception.ImageNotFound(
                _("Image {image} could not be found. Images: {choices}.", image=image,
                  choices=", ".join(IMAGES)), image_id=image)
        flavor_values = {"name": flavor, **FLAVORS[flavor]}
        image_meta = dict(IMAGES[image])
        self.http("glance", "GET", f"/v2/images/{image_meta['id']}", request_id=ctxt.request_id)
        instance_uuid = str(uuid.uuid4())
        instance = Instance(
            ctxt, uuid=instance_uuid, display_name=name, project_id=ctxt["project_id"],
            user_id=ctxt["user_id"], vm_state=BUILDING, task_state=SCHEDULING,
            power_state=NOSTATE, host=None, node=None, flavor=flavor_values,
            image_ref=image_meta["id"], availability_zone=None, system_metadata={})
        spec = RequestSpec(
            ctxt, instance_uuid=instance_uuid, flavor=flavor_values, image=image_meta,
            num_instances=1, project_id=ctxt["project_id"], user_id=ctxt["user_id"],
            availability_zone=None, ignore_hosts=None, force_hosts=None, retry=None,
            scheduler_hints={}, security_groups=["default"], requested_destination=None)
        spec.create()
        bdm = BlockDeviceMapping(
            ctxt, instance_uuid=instance_uuid, source_type="image", destination_type="local",
            boot_index=0, image_id=image_meta["id"], device_name=None, volume_size=None,
            delete_on_termination=True)
        build_request = BuildRequest(ctxt, instance_uuid=instance_uuid,
                                     project_id=ctxt["project_id"], instance=instance,
                                     block_device_mappings=[bdm], tags=[])
        build_request.create()
        InstanceMapping(ctxt, instance_uuid=instance_uuid, cell_mapping=None,
                        project_id=ctxt["project_id"], queued_for_delete=False).create()
        self.compute_task_api.schedule_and_build_instances(
            ctxt, build_requests=[build_request], request_specs=[spec], image=image_meta,
            admin_password=None, injected_files=[], requested_networks=None,
            block_device_mapping=[bdm], tags=[])
        return {"id": instance_uuid, "request_id": ctxt.request_id, "status_code": 202}

    def get_instance(self, ctxt: RequestContext, instance_uuid: str) -> Instance | None:
        """The instance from its cell, or from its BuildRequest while it has none."""
        mapping = InstanceMapping.get_by_instance_uuid(ctxt, instance_uuid)
        if mapping.cell_mapping is None:
            try:
                return BuildRequest.get_by_instance_uuid(ctxt, instance_uuid).instance
            except exception.BuildRequestNotFound:
                # Scheduled meanwhile (or deleted): read the mapping again.
                mapping = InstanceMapping.get_by_instance_uuid(ctxt, instance_uuid)
                if mapping.cell_mapping is None:
                    return None
        try:
            return Instance.get_by_uuid(target_cell(ctxt, mapping.cell_mapping),
                                        instance_uuid)
        except exception.InstanceNotFound:
            return None

    def show_server(self, instance_uuid: str) -> dict:
        """``GET /servers/{id}`` (without the HTTP trace: the lab polls it)."""
        ctxt = make_context(self.db)
        instance = self.get_instance(ctxt, instance_uuid)
        if instance is None:
            return {"id": instance_uuid, "status": "DELETED", "OS-EXT-STS:vm_state": DELETED,
                    "OS-EXT-STS:task_state": None, "OS-EXT-SRV-ATTR:host": None, "cell": None}
        mapping = InstanceMapping.get_by_instance_uuid(ctxt, instance_uuid)
        cell = mapping.cell_mapping.name if mapping.cell_mapping else None
        return {"id": instance_uuid, "name": instance.display_name,
                "status": api_status(instance.vm_state, instance.task_state),
                "OS-EXT-STS:vm_state": instance.vm_state,
                "OS-EXT-STS:task_state": instance.task_state,
                "OS-EXT-STS:power_state": instance.power_state,
                "OS-EXT-SRV-ATTR:host": instance.host, "cell": cell}

    def _action(self, instance_uuid: str, method: str, path: str,
                allowed: tuple[str, ...]) -> tuple[RequestContext, Instance]:
        ctxt = self._request("POST", path)
        instance = self.get_instance(ctxt, instance_uuid)
        if instance is None:
            raise exception.InstanceNotFound(
                _("Server {uuid} could not be found.", uuid=instance_uuid),
                instance_id=instance_uuid)
        if instance.vm_state not in allowed or instance.task_state is not None:
            attr, state = (("vm_state", instance.vm_state) if instance.vm_state not in allowed
                           else ("task_state", instance.task_state))
            raise exception.InstanceInvalidState(
                _("Cannot '{method}' instance {uuid} while it is in {attr} {state}.",
                  method=method, uuid=instance_uuid, attr=attr, state=state),
                method=method, instance_uuid=instance_uuid, attr=attr, state=state)
        return instance._context, instance

    def stop_server(self, instance_uuid: str) -> str:
        """``POST /servers/{id}/action {"os-stop"}``: task_state powering-off, cast."""
        ctxt, instance = self._action(instance_uuid, "stop",
                                      f"/v2.1/servers/{instance_uuid}/action", (ACTIVE, ERROR))
        instance.task_state = POWERING_OFF
        instance.save(expected_task_state=[None])
        InstanceAction.action_start(ctxt, instance_uuid, "stop", want_result=False)
        self.compute_rpcapi.stop_instance(ctxt, instance, clean_shutdown=True)
        return ctxt.request_id

    def start_server(self, instance_uuid: str) -> str:
        """``POST /servers/{id}/action {"os-start"}``: task_state powering-on, cast."""
        ctxt, instance = self._action(instance_uuid, "start",
                                      f"/v2.1/servers/{instance_uuid}/action", (STOPPED,))
        instance.task_state = POWERING_ON
        instance.save(expected_task_state=[None])
        InstanceAction.action_start(ctxt, instance_uuid, "start", want_result=False)
        self.compute_rpcapi.start_instance(ctxt, instance)
        return ctxt.request_id

    def get_console_output(self, instance_uuid: str, length: int | None = None) -> str:
        """``POST /servers/{id}/action {"os-getConsoleOutput"}``: a call to the compute."""
        ctxt = self._request("POST", f"/v2.1/servers/{instance_uuid}/action")
        instance = self.get_instance(ctxt, instance_uuid)
        if instance is None:
            raise exception.InstanceNotFound(
                _("Server {uuid} could not be found.", uuid=instance_uuid),
                instance_id=instance_uuid)
        if instance.vm_state != ACTIVE or not instance.host:
            raise exception.InstanceInvalidState(
                _("Cannot '{method}' instance {uuid} while it is in {attr} {state}.",
                  method="get_console_output", uuid=instance_uuid, attr="vm_state",
                  state=instance.vm_state),
                method="get_console_output", instance_uuid=instance_uuid, attr="vm_state",
                state=instance.vm_state)
        return self.compute_rpcapi.get_console_output(instance._context, instance, length)

    def delete_server(self, instance_uuid: str) -> str:
        """``DELETE /servers/{id}``: cast ``terminate_instance`` to its compute if that
        compute is up; else delete here ("local delete"), as for an instance that has no
        host (still scheduling, or buried in cell0)."""
        ctxt = self._request("DELETE", f"/v2.1/servers/{instance_uuid}")
        mapping = InstanceMapping.get_by_instance_uuid(ctxt, instance_uuid)
        if mapping.cell_mapping is None:
            try:  # _delete_while_booting: the conductor will find no BuildRequest
                BuildRequest.get_by_instance_uuid(ctxt, instance_uuid).destroy()
                return ctxt.request_id
            except exception.BuildRequestNotFound:
                mapping = InstanceMapping.get_by_instance_uuid(ctxt, instance_uuid)
        instance = self.get_instance(ctxt, instance_uuid)
        if instance is None:
            raise exception.InstanceNotFound(
                _("Server {uuid} could not be found.", uuid=instance_uuid),
                instance_id=instance_uuid)
        ctxt = instance._context
        instance.task_state = DELETING
        instance.save()
        InstanceAction.action_start(ctxt, instance_uuid, "delete", want_result=False)
        service = (ServiceRecord.get_by_host_and_binary(ctxt, instance.host, "nova-compute")
                   if instance.host and mapping.cell_mapping.uuid != CELL0_UUID else None)
        if service is not None and service_is_up(service, self.timings.service_down_time):
            self.compute_rpcapi.terminate_instance(ctxt, instance, bdms=[])
            return ctxt.request_id
        LOG.info("Doing local delete of instance %s", instance_uuid)
        instance.vm_state = DELETED
        instance.task_state = None
        instance.save()
        instance.destroy()
        self.reportclient.delete_allocation_for_instance(ctxt, instance_uuid)
        return ctxt.request_id

    # -- os-server-external-events --------------------------------------------------------

    def server_external_events(self, events: list[dict], caller: str = "neutron") -> dict:
        """``POST /v2.1/os-server-external-events``, as Neutron sends it: each event is
        accepted (200) if its server has a host, else refused (404 unknown server, 400
        tag missing, 422 no host, and the answer is 207); the accepted ones are cast to
        their hosts."""
        ctxt = self._request("POST", "/v2.1/os-server-external-events", caller=caller)
        answers, accepted, instances, code = [], [], {}, 200
        for body in events:
            answer = dict(body)
            event = InstanceExternalEvent(ctxt, instance_uuid=body["server_uuid"],
                                          name=body["name"],
                                          status=body.get("status", "completed"),
                                          tag=body.get("tag"), data={})
            try:
                instance = self.get_instance(ctxt, event.instance_uuid)
            except exception.InstanceMappingNotFound:
                instance = None
            if instance is None:
                answer.update(status="failed", code=404)
            elif event.name in TAG_REQUIRED and event.tag is None:
                answer.update(status="failed", code=400)
            elif instance.host:
                LOG.info("Creating event %s:%s for instance %s on %s", event.name, event.tag,
                         event.instance_uuid, instance.host)
                accepted.append(event)
                instances[instance.uuid] = instance
                answer.update(status="completed", code=200)
            else:
                answer.update(status="failed", code=422)
            code = code if answer["code"] == 200 else 207
            answers.append(answer)
        if accepted:
            self.external_instance_event(list(instances.values()), accepted)
        return {"events": answers, "status_code": code}

    def external_instance_event(self, instances: list[Instance],
                                events: list[InstanceExternalEvent]) -> None:
        """``nova/compute/api.py:external_instance_event``: one cast per host, with that
        host's instances and events, in the instances' cell."""
        by_host: dict[str, tuple[list, list]] = {}
        for instance in instances:
            by_host.setdefault(instance.host, ([], []))[0].append(instance)
        for event in events:
            host = next(i.host for i in instances if i.uuid == event.instance_uuid)
            by_host[host][1].append(event)
        for host, (host_instances, host_events) in by_host.items():
            self.compute_rpcapi.external_instance_event(
                host_instances[0]._context, host_instances, host_events, host=host)

    # -- os-services ---------------------------------------------------------------------

    def list_services(self) -> list[dict]:
        """``GET /os-services`` (``openstack compute service list``)."""
        ctxt = make_context(self.db, is_admin=True)
        rows = []
        # every cell's database, cell0 too (the top-level services of a multi-cell cloud)
        for record in [record for cell in CellMapping.get_all(ctxt)
                       for record in ServiceRecord.list_all(target_cell(ctxt, cell))]:
            up = service_is_up(record, self.timings.service_down_time)
            rows.append({"id": record.id, "binary": record.binary, "host": record.host,
                         "zone": record.availability_zone,
                         "status": "disabled" if record.disabled else "enabled",
                         "state": "up" if up else "down", "updated_at": record.last_seen_up,
                         "report_count": record.report_count})
        return rows
