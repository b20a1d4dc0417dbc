"""nova-compute: builds the VM on its hypervisor, saving every step through the conductor.

``nova/compute/manager.py`` (``init_host``, ``pre_start_hook``, ``build_and_run_instance``,
``_do_build_and_run_instance``, ``_build_and_run_instance``, ``_build_resources``,
``_allocate_network``, ``external_instance_event``, ``stop_instance``, ``start_instance``,
``terminate_instance``) with a fake hypervisor (:mod:`.virt`) and a resource tracker
(:mod:`.resource_tracker`).  nova-compute has no database access
(``nova/cmd/compute.py``): every ``instance.save()`` is a conductor call
``object_action``, so a boot saves, one call each:

    (building, None) -> claim: host and node -> (building, networking)
    -> (building, block_device_mapping) -> (building, spawning) -> (active, None)

Start-up (``nova/service.py``, see :mod:`.service`): ping the conductor until one
answers, ask it the oldest nova-compute's version, look the service record up, then
``init_host`` (which nodes and instances the database puts here, who holds resources
on this node in Placement, and a fanout ``update_instance_info`` to the schedulers
when instances run here), create the record, ``pre_start_hook`` (the compute node
record and its Placement inventory), and only then consume: two RPC servers,
``compute`` and ``compute-alt`` (2026.1: a graceful shutdown stops the first and
finishes the work in progress through the second); from then on it reports its
state every ``report_interval`` (a conductor call too).  A build that fails on the
hypervisor aborts its claim and goes back to the conductor (``build_instances`` cast)
with the alternate hosts.

Simplified: the build runs in the RPC worker thread (Nova spawns its own), so
stopping the service waits for the builds in progress; networking and image download
are traced HTTP requests only; no evacuation, no migration.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from typing import Any

from ... import rpc
from ...trace import Trace
from . import exception
from .conf import Notifications, Timings
from .context import CELL1, RequestContext
from .db import Database, open_database
from .events import InstanceActionEvent, InstanceExternalEvent
from .objects import (
    ACTIVE,
    BLOCK_DEVICE_MAPPING,
    BUILDING,
    DELETED,
    DELETING,
    ERROR,
    NETWORKING,
    NOSTATE,
    POWERING_OFF,
    POWERING_ON,
    SCHEDULING,
    SHUTDOWN,
    SPAWNING,
    STOPPED,
    ComputeNodeList,
    Instance,
    InstanceList,
    utcnow,
)
from .objects import Service as ServiceRecord
from .placement import Placement, ReportClient
from .resource_tracker import ResourceTracker
from .rpcapi import RPC_TOPIC, RPC_TOPIC_ALT, ComputeTaskAPI, ConductorAPI, SchedulerAPI
from .service import NovaService
from .virt import FakeDriver

LOG = logging.getLogger(__name__)


class ComputeManager:
    """``nova/compute/manager.py:ComputeManager`` (RPC API 6.5; casts arrive as 6.0)."""

    target = rpc.Target(version="6.5")

    def __init__(self, service: ComputeService) -> None:
        self.service = service
        self.host = service.host
        self.driver = service.driver
        self.compute_task_api = ComputeTaskAPI(service)
        self.query_client = SchedulerAPI(service)
        self.reportclient = service.reportclient
        self.rt = ResourceTracker(self.host, self.driver, self.reportclient)
        #: ``[filter_scheduler] track_instance_changes`` (default True): tell the schedulers
        #: what runs here.  A fanout on this compute's broker: in a cell with a broker of
        #: its own no scheduler listens there (an "upcall"), so Nova's cells guide says to
        #: turn it off there.
        self.send_instance_updates = service.track_instance_changes

    # -- start-up ------------------------------------------------------------------------

    def init_host(self, context: RequestContext, service_ref: ServiceRecord | None) -> None:
        """What the database says is here, before the service record is even created."""
        nodes_by_uuid = self._get_nodes(context)
        instances = InstanceList.get_by_host(context, self.host).objects or []
        LOG.debug("Loaded %d instances for host", len(instances))
        try:
            self._error_out_instances_whose_build_was_interrupted(
                context, {instance.uuid for instance in instances}, list(nodes_by_uuid))
        finally:
            if instances:
                # Nothing to send on a first start: the host may not even be mapped yet.
                self._update_scheduler_instance_info(context, instances)

    def _get_nodes(self, context: RequestContext) -> dict[str, Any]:
        node_ids = self.driver.get_nodenames_by_uuid()
        nodes = ComputeNodeList.get_all_by_uuids(context, list(node_ids)).objects or []
        if not nodes:  # a warning upstream; every lab starts its computes afresh
            LOG.info("Compute nodes %s for host %s were not found in the database. If "
                     "this is the first time this service is starting on this host, then "
                     "you can ignore this warning.", list(node_ids), self.host)
        return {node.uuid: node for node in nodes}

    def _error_out_instances_whose_build_was_interrupted(
            self, context: RequestContext, handled: set[str], node_uuids: list[str]) -> None:
        """Instances holding resources on this node in Placement, still BUILDING and not
        on this host: their build stopped with this service (or its message waits in a
        queue); put them in ERROR rather than BUILD for ever."""
        LOG.info("Looking for unclaimed instances stuck in BUILDING status for nodes "
                 "managed by this host")
        for node_uuid in node_uuids:
            allocations = self.reportclient.get_allocations_for_resource_provider(
                context, node_uuid)
            not_handled = set(allocations) - handled
            if not not_handled:
                continue
            stuck = InstanceList.get_by_filters(
                context, {"vm_state": BUILDING, "uuid": sorted(not_handled)}).objects or []
            for instance in stuck:
                LOG.debug("Instance spawn was interrupted before instance_claim, setting "
                          "instance to ERROR state")
                self._set_instance_obj_error_state(instance, clean_task_state=True)

    def pre_start_hook(self, context: RequestContext, service_ref: ServiceRecord) -> None:
        """The service record exists, no queue is consumed yet: report the resources."""
        self.rt.update_available_resource(context)

    # -- boot ----------------------------------------------------------------------------

    def build_and_run_instance(self, context: RequestContext, instance: Instance, image: dict,
                               request_spec: Any, filter_properties: dict,
                               accel_uuids: list | None = None, admin_password: Any = None,
                               injected_files: Any = None, requested_networks: Any = None,
                               security_groups: Any = None, block_device_mapping: Any = None,
                               node: str | None = None, limits: dict | None = None,
                               host_list: list | None = None) -> None:
        event = "compute__do_build_and_run_instance"
        InstanceActionEvent.event_start(context, instance.uuid, event, want_result=False,
                                        host=self.host)
        failure = None
        try:
            result = self._do_build_and_run_instance(
                context, instance, image, request_spec, filter_properties, admin_password,
                injected_files, requested_networks, security_groups, block_device_mapping,
                node, limits, host_list)
            if result == "failed":
                # the build failed for good: give its resources back to Placement
                self.reportclient.delete_allocation_for_instance(context, instance.uuid)
        except Exception as error:
            LOG.exception("%s: build of instance %s failed", self.service.name, instance.uuid)
            failure = error
        try:
            InstanceActionEvent.event_finish_with_failure(
                context, instance.uuid, event, exc_val=str(failure) if failure else None,
                exc_tb="".join(traceback.format_exception(failure)) if failure else None,
                want_result=False)
        except Exception as error:  # the conductor may be unreachable
            LOG.warning("Could not record the end of %s: %s", event, error)

    def _do_build_and_run_instance(self, context: RequestContext, instance: Instance,
                                   image: dict, request_spec: Any, filter_properties: dict,
                                   admin_password: Any, injected_files: Any,
                                   requested_networks: Any, security_groups: Any,
                                   block_device_mapping: Any, node: str | None,
                                   limits: dict | None, host_list: list | None) -> str:
        try:
            LOG.debug("Starting instance... %s", instance.uuid)
            instance.vm_state = BUILDING
            instance.task_state = None
            instance.save(expected_task_state=(SCHEDULING, None))
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
            LOG.debug("Instance %s disappeared before build.", instance.uuid)
            return "failed"
        try:
            started = time.monotonic()
            self._build_and_run_instance(context, instance, image, node, limits,
                                         block_device_mapping)
            LOG.info("Took %0.2f seconds to build instance %s.", time.monotonic() - started,
                     instance.uuid)
            return "active"
        except exception.RescheduledException as e:
            retry = filter_properties.get("retry")
            if not retry:
                LOG.debug("Retry info not present, will not reschedule")
                self._cleanup_allocated_networks(context, instance)
                self._nil_out_instance_obj_host_and_node(instance)
                self._set_instance_obj_error_state(instance, clean_task_state=True)
                return "failed"
            retry["exc_reason"] = e.kwargs["reason"]
            self._cleanup_allocated_networks(context, instance)
            self._nil_out_instance_obj_host_and_node(instance)
            instance.task_state = SCHEDULING
            instance.save()
            # Give the claim back before asking the conductor to claim an alternate.
            self.reportclient.delete_allocation_for_instance(context, instance.uuid)
            self.compute_task_api.build_instances(
                context, [instance], image, filter_properties, admin_password,
                injected_files, requested_networks, security_groups, block_device_mapping,
                request_spec=request_spec, host_lists=[host_list or []])
            return "rescheduled"
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
            LOG.debug("Instance %s was deleted during the build.", instance.uuid)
            return "failed"
        except Exception:
            LOG.exception("Unexpected build failure, not rescheduling build.")
            self._cleanup_allocated_networks(context, instance)
            self._nil_out_instance_obj_host_and_node(instance)
            self._set_instance_obj_error_state(instance, clean_task_state=True)
            return "failed"

    def _build_and_run_instance(self, context: RequestContext, instance: Instance, image: dict,
                                node: str | None, limits: dict | None,
                                block_device_mapping: Any) -> None:
        payload = self._payload(instance, image)
        self.service.notify(context, "instance.create.start", "InstanceCreatePayload",
                            payload, legacy_event_type="compute.instance.create.start")
        allocs = self.reportclient.get_allocations_for_consumer(context, instance.uuid)
        try:
            # the claim sets host and node; a failure inside aborts it (host, node None)
            with self.rt.instance_claim(context, instance, node or self.host, allocs,
                                        limits):
                self._build_resources(context, instance)
                instance.vm_state = BUILDING
                instance.task_state = SPAWNING
                instance.save(expected_task_state=BLOCK_DEVICE_MAPPING)
                LOG.debug("Start spawning the instance on the hypervisor.")
                self.service.http("glance", "GET", f"/v2/images/{image['id']}/file",
                                  request_id=context.request_id)
                self.driver.spawn(instance)
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
            raise
        except Exception as e:
            LOG.warning("Failed to build and run instance %s: %s", instance.uuid, e)
            self.service.notify(context, "instance.create.error", "InstanceCreatePayload",
                                {**payload, "fault": str(e)}, priority="error",
                                legacy_event_type="compute.instance.create.error")
            raise exception.RescheduledException(instance_uuid=instance.uuid,
                                                 reason=str(e)) from e
        # _update_instance_after_spawn
        instance.power_state = self.driver.get_power_state(instance)
        instance.vm_state = ACTIVE
        instance.task_state = None
        instance.launched_at = utcnow()
        instance.save(expected_task_state=SPAWNING)
        self._update_scheduler_instance_info(context, instance)
        self.service.notify(context, "instance.create.end", "InstanceCreatePayload",
                            self._payload(instance, image),
                            legacy_event_type="compute.instance.create.end")

    def _build_resources(self, context: RequestContext, instance: Instance) -> None:
        """Networks (Neutron, HTTP), then block devices (local disk: nothing to call)."""
        # _allocate_network: "this task state has little meaning" (it is asynchronous)
        instance.vm_state = BUILDING
        instance.task_state = NETWORKING
        instance.save(expected_task_state=[None])
        port = uuid.uuid5(uuid.NAMESPACE_URL, instance.uuid)
        self.service.http("neutron", "POST", "/v2.0/ports", request_id=context.request_id)
        self.service.http("neutron", "PUT", f"/v2.0/ports/{port}", request_id=context.request_id)
        instance.vm_state = BUILDING
        instance.task_state = BLOCK_DEVICE_MAPPING
        instance.save()

    def _cleanup_allocated_networks(self, context: RequestContext, instance: Instance) -> None:
        port = uuid.uuid5(uuid.NAMESPACE_URL, instance.uuid)
        self.service.http("neutron", "DELETE", f"/v2.0/ports/{port}",
                          request_id=context.request_id)

    @staticmethod
    def _nil_out_instance_obj_host_and_node(instance: Instance) -> None:
        """Not saved: the caller's next save carries it."""
        instance.host = None
        instance.node = None
        instance.launched_on = None

    def _set_instance_obj_error_state(self, instance: Instance,
                                      clean_task_state: bool = False) -> None:
        try:
            instance.vm_state = ERROR
            if clean_task_state:
                instance.task_state = None
            instance.save()
        except exception.InstanceNotFound:
            LOG.debug("Instance has been destroyed from under us while trying to set it to "
                      "ERROR")

    def _update_scheduler_instance_info(self, context: RequestContext,
                                        instances: Instance | list[Instance]) -> None:
        """Tell every scheduler (fanout) what now runs here (``track_instance_changes``):
        one instance after a build, all of them from ``init_host``."""
        if not self.send_instance_updates:
            return
        objects = [instances] if isinstance(instances, Instance) else list(instances)
        self.query_client.update_instance_info(context.elevated(), self.host,
                                               InstanceList(objects=objects))

    # -- events from other services ------------------------------------------------------

    def external_instance_event(self, context: RequestContext, instances: list[Instance],
                                events: list[InstanceExternalEvent]) -> None:
        """Neutron's (or Cinder's) events, relayed by nova-api: the info cache is
        refreshed on ``network-changed``; other events wake whoever waits for them."""
        for event in events:
            instance = next(i for i in instances if i.uuid == event.instance_uuid)
            LOG.debug("Received event %s", event.key)
            if event.name == "network-changed":
                LOG.debug("Refreshing instance network info cache due to event %s.",
                          event.key)
                self.service.http("neutron", "GET", f"/v2.0/ports?device_id={instance.uuid}",
                                  request_id=context.request_id)
            else:
                self._process_instance_event(instance, event)

    def _process_instance_event(self, instance: Instance, event: InstanceExternalEvent) -> None:
        """The fake driver waits for no event (a libvirt spawn waits for
        ``network-vif-plugged``): nobody to wake, as upstream logs it."""
        if event.name == "network-vif-unplugged" and instance.task_state == DELETING:
            LOG.debug("Received event %s for instance with task_state %s.", event.key,
                      instance.task_state)
            return
        LOG.warning("Received unexpected event %s for instance with vm_state %s and "
                    "task_state %s.", event.key, instance.vm_state, instance.task_state)

    def _payload(self, instance: Instance, image: dict) -> dict:
        return {"uuid": instance.uuid, "display_name": instance.display_name,
                "host": instance.host, "state": instance.vm_state,
                "task_state": instance.task_state, "power_state": instance.power_state,
                "flavor": instance.flavor, "image_uuid": image.get("id")}

    # -- power and delete ----------------------------------------------------------------

    def stop_instance(self, context: RequestContext, instance: Instance,
                      clean_shutdown: bool = True) -> None:
        expected = [POWERING_OFF]
        if self.driver.get_power_state(instance) in (NOSTATE, SHUTDOWN):
            LOG.info("Instance is already powered off in the hypervisor when stop is called.")
            expected.append(None)
        self._notify_action(context, instance, "power_off", "start")
        self.driver.power_off(instance)
        instance.power_state = self.driver.get_power_state(instance)
        instance.vm_state = STOPPED
        instance.task_state = None
        instance.save(expected_task_state=expected)
        self._notify_action(context, instance, "power_off", "end")

    def start_instance(self, context: RequestContext, instance: Instance) -> None:
        self._notify_action(context, instance, "power_on", "start")
        self.driver.power_on(instance)
        instance.power_state = self.driver.get_power_state(instance)
        instance.vm_state = ACTIVE
        instance.task_state = None
        instance.save(expected_task_state=POWERING_ON)
        self._notify_action(context, instance, "power_on", "end")

    def get_console_output(self, context: RequestContext, instance: Instance,
                           tail_length: int | None) -> str:
        output = self.driver.get_console_output(instance)
        if tail_length is None:
            return output
        return "\n".join(output.split("\n")[-int(tail_length):])

    def terminate_instance(self, context: RequestContext, instance: Instance,
                           bdms: list) -> None:
        try:
            self._notify_action(context, instance, "delete", "start")
            self.driver.destroy(instance)
            self._cleanup_allocated_networks(context, instance)
            instance.vm_state = DELETED
            instance.task_state = None
            instance.power_state = NOSTATE
            instance.terminated_at = utcnow()
            instance.save()
            # _complete_deletion
            self.reportclient.delete_allocation_for_instance(context, instance.uuid)
            if self.send_instance_updates:  # _delete_scheduler_instance_info
                self.query_client.delete_instance_info(context, self.host, instance.uuid)
            instance.destroy()
            self._notify_action(context, instance, "delete", "end")
        except exception.InstanceNotFound:
            LOG.info("Instance disappeared during terminate")

    def _notify_action(self, context: RequestContext, instance: Instance, action: str,
                       phase: str) -> None:
        self.service.notify(context, f"instance.{action}.{phase}", "InstanceActionPayload",
                            self._payload(instance, {"id": instance.image_ref}),
                            legacy_event_type=f"compute.instance.{action}.{phase}")


class ComputeService(NovaService):
    """nova-compute (``nova/cmd/compute.py``): topics ``compute`` and ``compute-alt``, no
    database.

    ``database`` is only used, when given, to reach Placement (same machine).
    """

    binary = "nova-compute"
    topic = RPC_TOPIC
    #: ``Service.create(topic_alt=RPC_TOPIC_ALT)``: the second RPC server.
    topic_alt = RPC_TOPIC_ALT
    service_name = "compute"
    uses_database = False

    def __init__(self, host: str, url: str | None = None, trace: Trace | None = None, *,
                 database: Database | str | None = None, timings: Timings | None = None,
                 notifications: bool | str | Notifications = False,
                 resources: dict | None = None, cell: str = CELL1,
                 track_instance_changes: bool = True, messaging: dict | None = None) -> None:
        super().__init__(host, url, trace, timings=timings, notifications=notifications,
                         cell=cell, messaging=messaging)
        self.track_instance_changes = track_instance_changes
        # nova/cmd/compute.py: objects_base.NovaObject.indirection_api = ConductorAPI()
        self.conductor_api = ConductorAPI(self)
        self.backend = self.serializer.backend = self.conductor_api
        self.driver = FakeDriver(host, self.timings.build_time, resources)
        self._placement_db = open_database(database)
        self._own_placement_db = not isinstance(database, Database)
        self.reportclient = ReportClient(
            self, Placement(self._placement_db) if self._placement_db else None)
        self.manager = ComputeManager(self)

    def managers(self) -> list[Any]:
        return [self.manager]

    def targets(self) -> list[rpc.Target]:
        """``nova/service.py:Service.start``: one RPC server per topic, the same endpoints
        (so queues ``compute-alt``, ``compute-alt.<host>``, ``compute-alt_fanout_<id>``)."""
        return [rpc.Target(topic=topic, server=self.host)
                for topic in (self.topic, self.topic_alt)]

    def pre_start(self, ctxt: RequestContext) -> None:
        """``Service.__init__``: wait for a conductor (``ping``)."""
        self.conductor_api.wait_until_ready(ctxt, self.timings.ping_timeout,
                                            self.timings.ping_attempts, self._abort)

    def init_host(self, ctxt: RequestContext, service_ref: ServiceRecord | None) -> None:
        self.manager.init_host(ctxt, service_ref)

    def pre_start_hook(self, ctxt: RequestContext, service_ref: ServiceRecord) -> None:
        self.manager.pre_start_hook(ctxt, service_ref)

    def stop(self) -> ComputeService:
        """``nova/service.py:Service.stop``, gracefully: stop consuming ``compute`` and let
        the work in progress finish, while ``compute-alt`` still serves; then stop that."""
        self._thaw_to_stop()
        for server in self._servers:
            if server.target.topic == self.topic:
                server.stop()
                server.wait()
        super().stop()
        return self

    def cleanup(self) -> None:
        super().cleanup()
        if self._placement_db is not None and self._own_placement_db:
            self._placement_db.close()
