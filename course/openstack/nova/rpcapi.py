"""The client side of Nova's RPC APIs: who sends what, cast or call, to which topic.

Each class mirrors an upstream ``rpcapi.py``; every method names its version, as
the real one does, so the message on the wire carries it.

=================================  ===========  =====================================  ====
method                             cast/call    routing key (exchange ``nova``)        ver.
=================================  ===========  =====================================  ====
schedule_and_build_instances       cast         ``conductor`` (ns ``compute_task``)    1.17
build_instances (reschedule)       cast         ``conductor`` (ns ``compute_task``)    1.19
object_action                      call         ``conductor``                          3.0
object_class_action_versions       call         ``conductor``                          3.0
ping                               call         ``conductor`` (ns ``baseapi``)         1.0
select_destinations                call         ``scheduler``                          4.5
update_instance_info               fanout cast  ``scheduler_fanout`` exchange          4.2
build_and_run_instance             cast         ``compute.<host>``                     6.0
stop/start/terminate_instance      cast         ``compute.<host>``                     6.0
get_console_output                 call         ``compute.<host>``                     6.0
external_instance_event            cast         ``compute-alt.<host>``                 6.0
=================================  ===========  =====================================  ====

nova-compute runs a second RPC server, on topic ``compute-alt`` (2026.1, compute RPC
6.5, service version 71): when it shuts down gracefully it stops consuming
``compute`` first and keeps ``compute-alt`` to finish what is in progress, so the
messages that finish an operation, or that come from other services (Neutron's
events), go to ``compute-alt.<host>``.  A client that may not send 6.5 (``[upgrade_levels]
compute`` pinned, or ``auto`` with an older nova-compute) sends them to
``compute.<host>`` instead (``nova/compute/rpcapi.py:prepare_for_alt_rpcserver``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ... import rpc
from .context import RequestContext
from .objects import Service as ServiceRecord
from .versions import COMPUTE_RPC_ALIASES, COMPUTE_RPC_BY_SERVICE_VERSION, SERVICE_VERSION

LOG = logging.getLogger(__name__)

#: ``nova/baserpc.py``: the argument nova-compute pings the conductor with.
PING_ARG = "1.21 GigaWatts"


class ConductorAPI:
    """``nova/conductor/rpcapi.py:ConductorAPI`` (v3.0), plus the ``baseapi`` ping.

    nova-compute's objects use it as their ``indirection_api``: it has no database,
    so every ``save()`` is one of these calls.
    """

    is_indirection = True

    def __init__(self, service: Any) -> None:
        self.client = service.client("conductor", version="3.0")
        # nova/baserpc.py:BaseAPI, Target(topic, namespace='baseapi', version='1.0')
        self.base_client = service.client("conductor", namespace="baseapi", version="1.0")

    def object_action(self, ctxt: RequestContext, objinst: Any, objmethod: str, args: list,
                      kwargs: dict) -> Any:
        return self.client.prepare().call(ctxt, "object_action", objinst=objinst,
                                          objmethod=objmethod, args=args, kwargs=kwargs)

    def object_class_action_versions(self, ctxt: RequestContext, objname: str, objmethod: str,
                                     object_versions: dict, args: list, kwargs: dict) -> Any:
        return self.client.prepare().call(ctxt, "object_class_action_versions",
                                          objname=objname, objmethod=objmethod,
                                          object_versions=object_versions, args=args,
                                          kwargs=kwargs)

    def ping(self, ctxt: RequestContext, arg: str, timeout: float | None = None) -> Any:
        return self.base_client.prepare(timeout=timeout).call(ctxt, "ping", arg=arg)

    def wait_until_ready(self, ctxt: RequestContext, early_timeout: float,
                         early_attempts: int, abort: threading.Event) -> bool:
        """``nova/conductor/api.py:wait_until_ready``: ping until a conductor answers.

        ``early_attempts`` tries with ``early_timeout``, then the normal RPC timeout,
        for ever (here: until ``abort`` is set, when the service is stopped).
        """
        attempt, timed_out = 0, False
        while not abort.is_set():
            timeout = early_timeout if attempt < early_attempts else None
            attempt += 1
            try:
                self.ping(ctxt, PING_ARG, timeout=timeout)
            except rpc.MessagingTimeout:
                timed_out = True
                LOG.warning("Timed out waiting for nova-conductor.  Is it running? Or did this "
                            "service start before nova-conductor?  Reattempting establishment "
                            "of nova-conductor connection...")
                continue
            except rpc.MessageDeliveryFailure as error:
                # oslo.messaging would block reconnecting to the broker; wait and retry
                timed_out = True
                LOG.warning("%s", error)
                abort.wait(1.0)
                continue
            if timed_out:
                LOG.info("nova-conductor connection established successfully")
            return True
        return False


class ComputeTaskAPI:
    """``nova/conductor/rpcapi.py:ComputeTaskAPI``: namespace ``compute_task``."""

    def __init__(self, service: Any) -> None:
        self.client = service.client("conductor", namespace="compute_task", version="1.0")

    def schedule_and_build_instances(self, ctxt: RequestContext, build_requests: list,
                                     request_specs: list, image: dict, admin_password: Any,
                                     injected_files: list, requested_networks: Any,
                                     block_device_mapping: list, tags: list | None = None
                                     ) -> None:
        self.client.prepare(version="1.17").cast(
            ctxt, "schedule_and_build_instances", build_requests=build_requests,
            request_specs=request_specs, image=image, admin_password=admin_password,
            injected_files=injected_files, requested_networks=requested_networks,
            block_device_mapping=block_device_mapping, tags=tags)

    def build_instances(self, ctxt: RequestContext, instances: list, image: dict,
                        filter_properties: dict, admin_password: Any, injected_files: list,
                        requested_networks: Any, security_groups: list,
                        block_device_mapping: list, legacy_bdm: bool = True,
                        request_spec: Any = None, host_lists: list | None = None) -> None:
        """At 1.19 the conductor reads the block devices from the cell database: the
        cast carries neither ``block_device_mapping`` nor ``legacy_bdm`` (only versions
        before 1.7 did)."""
        self.client.prepare(version="1.19").cast(
            ctxt, "build_instances", instances=instances, image=image,
            filter_properties=filter_properties, admin_password=admin_password,
            injected_files=injected_files, requested_networks=requested_networks,
            security_groups=security_groups, request_spec=request_spec,
            host_lists=host_lists)


class SchedulerAPI:
    """``nova/scheduler/rpcapi.py:SchedulerAPI`` as ``nova/scheduler/client/query.py`` uses it."""

    def __init__(self, service: Any) -> None:
        self.client = service.client("scheduler", version="4.0")
        self.timings = service.timings

    def select_destinations(self, ctxt: RequestContext, spec_obj: Any, instance_uuids: list,
                            return_objects: bool = True, return_alternates: bool = True) -> Any:
        """A call with a long timeout, kept alive by the callee's heartbeats (call monitor)."""
        cctxt = self.client.prepare(version="4.5",
                                    call_monitor_timeout=self.timings.rpc_response_timeout,
                                    timeout=self.timings.long_rpc_timeout)
        return cctxt.call(ctxt, "select_destinations", spec_obj=spec_obj,
                          instance_uuids=instance_uuids, return_objects=return_objects,
                          return_alternates=return_alternates)

    def update_instance_info(self, ctxt: RequestContext, host_name: str,
                             instance_info: Any) -> None:
        self.client.prepare(version="4.2", fanout=True).cast(
            ctxt, "update_instance_info", host_name=host_name, instance_info=instance_info)

    def delete_instance_info(self, ctxt: RequestContext, host_name: str,
                             instance_uuid: str) -> None:
        self.client.prepare(version="4.2", fanout=True).cast(
            ctxt, "delete_instance_info", host_name=host_name, instance_uuid=instance_uuid)


#: ``nova/compute/rpcapi.py``: ``RPC_TOPIC`` and ``RPC_TOPIC_ALT``.
RPC_TOPIC, RPC_TOPIC_ALT = "compute", "compute-alt"


class ComputeAPI:
    """``nova/compute/rpcapi.py:ComputeAPI``: casts and calls to one compute.

    ``upgrade_level`` is ``[upgrade_levels] compute``: None (send the newest, Nova's
    default), a version or a release name (``flamingo``), or ``auto`` (the version
    the oldest nova-compute's service record allows).
    """

    def __init__(self, service: Any, upgrade_level: str | None = None) -> None:
        self.service = service
        self.upgrade_level = upgrade_level
        self._client: rpc.RPCClient | None = None

    @property
    def client(self) -> rpc.RPCClient:
        """The client and its version cap, made once (the ``router`` property)."""
        if self._client is not None:
            return self._client
        cap, final = COMPUTE_RPC_ALIASES.get(self.upgrade_level or "", self.upgrade_level), True
        if self.upgrade_level == "auto":
            cap, final = self._determine_version_cap()
        client = self.service.client(RPC_TOPIC, version="6.0").prepare(version_cap=cap)
        if final:
            self._client = client
        return client

    def _determine_version_cap(self) -> tuple[str, bool]:
        """``_determine_version_cap``: from the oldest nova-compute's service version;
        with no nova-compute yet, the newest, and ask again next time."""
        version = ServiceRecord.get_minimum_version(self.service.context(), "nova-compute")
        if version == 0:
            LOG.debug("Not caching compute RPC version_cap, because min service_version "
                      "is 0. Please ensure a nova-compute service has been started. "
                      "Defaulting to current version.")
            return COMPUTE_RPC_BY_SERVICE_VERSION[SERVICE_VERSION], False
        cap = COMPUTE_RPC_BY_SERVICE_VERSION.get(version, "6.0")
        LOG.info("Automatically selected compute RPC version %s from minimum service "
                 "version %s", cap, version)
        return cap, True

    def router(self, ctxt: RequestContext) -> rpc.RPCClient:
        """``rpc.ClientRouter.client(ctxt)``: the client on the broker of the cell the
        context targets (the super-conductor reaches each cell's computes on that cell's
        broker), else the default one."""
        return self.service.cell_client(ctxt, self.client)

    def prepare_for_alt_rpcserver(self, ctxt: RequestContext, server: str,
                                  version: str) -> rpc.RPCClient:
        """``compute-alt.<server>``, or ``compute.<server>`` if 6.5 may not be sent."""
        topic = RPC_TOPIC_ALT
        client = self.router(ctxt)
        if not client.can_send_version("6.5"):
            topic = RPC_TOPIC
            LOG.debug("Fallback to send the message to original topic: %s as RPC version "
                      "is too old.", topic)
        else:
            LOG.debug("RPC: Sending the message to topic: %s", topic)
        return client.prepare(server=server, version=version, topic=topic)

    def external_instance_event(self, ctxt: RequestContext, instances: list, events: list,
                                host: str | None = None) -> None:
        """Events from other services (Neutron's ``network-vif-plugged``...): never
        blocked by a shutdown in progress, hence the alternate topic."""
        cctxt = self.prepare_for_alt_rpcserver(ctxt, host or instances[0].host, version="6.0")
        cctxt.cast(ctxt, "external_instance_event", instances=instances, events=events)

    def build_and_run_instance(self, ctxt: RequestContext, instance: Any, host: str,
                               image: dict, request_spec: Any, filter_properties: dict,
                               admin_password: Any = None, injected_files: Any = None,
                               requested_networks: Any = None, security_groups: Any = None,
                               block_device_mapping: Any = None, node: str | None = None,
                               limits: dict | None = None, host_list: list | None = None,
                               accel_uuids: list | None = None) -> None:
        self.router(ctxt).prepare(server=host, version="6.0").cast(
            ctxt, "build_and_run_instance", instance=instance, image=image,
            request_spec=request_spec, filter_properties=filter_properties,
            admin_password=admin_password, injected_files=injected_files,
            requested_networks=requested_networks, security_groups=security_groups,
            block_device_mapping=block_device_mapping, node=node, limits=limits,
            host_list=host_list, accel_uuids=accel_uuids or [])

    def stop_instance(self, ctxt: RequestContext, instance: Any,
                      clean_shutdown: bool = True) -> None:
        self.router(ctxt).prepare(server=instance.host, version="6.0").cast(
            ctxt, "stop_instance", instance=instance, clean_shutdown=clean_shutdown)

    def start_instance(self, ctxt: RequestContext, instance: Any) -> None:
        self.router(ctxt).prepare(server=instance.host, version="6.0").cast(
            ctxt, "start_instance", instance=instance)

    def get_console_output(self, ctxt: RequestContext, instance: Any,
                           tail_length: int | None) -> str:
        """A **call**: the API waits for the compute's answer (``openstack console log show``)."""
        return self.router(ctxt).prepare(server=instance.host, version="6.0").call(
            ctxt, "get_console_output", instance=instance, tail_length=tail_length)

    def terminate_instance(self, ctxt: RequestContext, instance: Any, bdms: list) -> None:
        self.router(ctxt).prepare(server=instance.host, version="6.0").cast(
            ctxt, "terminate_instance", instance=instance, bdms=bdms)
