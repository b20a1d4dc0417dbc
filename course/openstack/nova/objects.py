"""Nova's objects, small: the few fields and methods a boot needs (``nova/objects/*.py``).

Each class keeps upstream's name and ``VERSION``, and names in ``child_objects`` the
objects upstream's fields may hold, for the ``object_versions`` manifest; the
machinery (remotable methods, the serializer) is in :mod:`.base`.  API-database
objects first (``nova_api``), then the cell-database ones.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from ...transport_url import mask_url
from . import exception
from .base import NovaObject, remotable, remotable_classmethod, store, utcnow
from .context import CELL0, CELL1, RequestContext, target_cell
from .db import API_DB
from .events import InstanceAction as InstanceAction  # cloud.py reads it from here
from .versions import SERVICE_VERSION

#: ``objects.CellMapping.CELL0_UUID``
CELL0_UUID = "00000000-0000-0000-0000-000000000000"

#: vm_state values (``nova/compute/vm_states.py``) and task_state values
#: (``nova/compute/task_states.py``), as ``nova/objects/fields.py`` spells them.
BUILDING, ACTIVE, STOPPED, ERROR, DELETED = "building", "active", "stopped", "error", "deleted"
SCHEDULING, NETWORKING = "scheduling", "networking"
BLOCK_DEVICE_MAPPING, SPAWNING = "block_device_mapping", "spawning"
POWERING_OFF, POWERING_ON, DELETING = "powering-off", "powering-on", "deleting"
#: power_state (``nova/compute/power_state.py``)
NOSTATE, RUNNING, SHUTDOWN = 0, 1, 4



# --------------------------------------------------------------------------- the API DB


class CellMapping(NovaObject):
    """A cell: its message queue and its database (``nova/objects/cell_mapping.py``).

    The API database keeps ``transport_url`` as written, password included (the
    super-conductor and nova-api connect with it); its ``repr`` masks the password, as
    ``nova-manage cell_v2 list_cells`` does.
    """

    VERSION = "1.1"
    fields = ("uuid", "name", "transport_url", "database_connection", "disabled")

    def __repr__(self) -> str:
        return (f"CellMapping(uuid={self.uuid!r}, name={self.name!r}, "
                f"transport_url={mask_url(self.transport_url or '')!r}, "
                f"database_connection={mask_url(self.database_connection or '')!r}, "
                f"disabled={self.disabled!r})")

    @property
    def db_name(self) -> str:
        """The cell database: the fragment of ``database_connection`` (``#nova_cell1``)."""
        name = (self.database_connection or "").rpartition("#")[2]
        return name or (CELL0 if self.uuid == CELL0_UUID else CELL1)

    @property
    def is_cell0(self) -> bool:
        return self.uuid == CELL0_UUID

    @classmethod
    def get_by_uuid(cls, ctxt: RequestContext, uuid: str) -> CellMapping:
        found = cls._from_db(ctxt, store(ctxt).get(API_DB, "cell_mappings", uuid))
        if found is None:
            raise exception.NotFound(f"Cell {uuid} has no mapping.")
        return found

    @classmethod
    def get_all(cls, ctxt: RequestContext) -> list[CellMapping]:
        return [cls._from_db(ctxt, v) for v in store(ctxt).list(API_DB, "cell_mappings")]

    def create(self) -> None:
        store(self._context).add(API_DB, "cell_mappings", self.uuid, self._values())


class HostMapping(NovaObject):
    """Which cell a compute host belongs to (``nova/objects/host_mapping.py``)."""

    VERSION = "1.0"
    fields = ("host", "cell_mapping")
    child_objects = ("CellMapping",)

    @classmethod
    def get_by_host(cls, ctxt: RequestContext, host: str) -> HostMapping:
        found = cls._from_db(ctxt, store(ctxt).get(API_DB, "host_mappings", host))
        if found is None:
            raise exception.HostMappingNotFound(name=host)
        return found

    def create(self) -> bool:
        return store(self._context).add(API_DB, "host_mappings", self.host, self._values())


def discover_hosts(ctxt: RequestContext) -> list[str]:
    """``nova-manage cell_v2 discover_hosts``: in each cell but cell0, map every unmapped
    compute node of that cell's database to that cell."""
    mapped = []
    for cell in CellMapping.get_all(ctxt):
        if cell.is_cell0:
            continue
        for node in ComputeNode.list_all(target_cell(ctxt, cell)):
            if HostMapping(ctxt, host=node.host, cell_mapping=cell).create():
                mapped.append(node.host)
    return mapped


class InstanceMapping(NovaObject):
    """Which cell an instance lives in; None while it is being scheduled."""

    VERSION = "1.2"
    fields = ("instance_uuid", "cell_mapping", "project_id", "queued_for_delete")
    child_objects = ("CellMapping",)

    @classmethod
    def get_by_instance_uuid(cls, ctxt: RequestContext, uuid: str) -> InstanceMapping:
        found = cls._from_db(ctxt, store(ctxt).get(API_DB, "instance_mappings", uuid))
        if found is None:
            raise exception.InstanceMappingNotFound(uuid=uuid)
        return found

    @classmethod
    def get_all(cls, ctxt: RequestContext) -> list[InstanceMapping]:
        return [cls._from_db(ctxt, v) for v in store(ctxt).list(API_DB, "instance_mappings")]

    def create(self) -> None:
        store(self._context).put(API_DB, "instance_mappings", self.instance_uuid, self._values())
        self.obj_reset_changes()

    save = create


class BuildRequest(NovaObject):
    """The instance as the API knows it before a cell has it (``nova/objects/build_request.py``)."""

    VERSION = "1.3"
    fields = ("instance_uuid", "project_id", "instance", "block_device_mappings", "tags")
    child_objects = ("Instance", "BlockDeviceMappingList", "TagList")

    @classmethod
    def get_by_instance_uuid(cls, ctxt: RequestContext, uuid: str) -> BuildRequest:
        found = cls._from_db(ctxt, store(ctxt).get(API_DB, "build_requests", uuid))
        if found is None:
            raise exception.BuildRequestNotFound(uuid=uuid)
        return found

    def create(self) -> None:
        store(self._context).put(API_DB, "build_requests", self.instance_uuid, self._values())
        self.obj_reset_changes()

    def destroy(self) -> None:
        if not store(self._context).delete(API_DB, "build_requests", self.instance_uuid):
            raise exception.BuildRequestNotFound(uuid=self.instance_uuid)

    def get_new_instance(self, ctxt: RequestContext) -> Instance:
        instance = Instance(ctxt)
        instance._data = copy.deepcopy(self.instance._data)
        return instance


class RequestSpec(NovaObject):
    """What the scheduler needs to pick a host (``nova/objects/request_spec.py``)."""

    VERSION = "1.15"
    fields = ("instance_uuid", "flavor", "image", "num_instances", "project_id", "user_id",
              "availability_zone", "ignore_hosts", "force_hosts", "retry", "scheduler_hints",
              "security_groups", "requested_destination")
    child_objects = ("ImageMeta", "InstanceNUMATopology", "InstancePCIRequests", "Flavor",
                     "Destination", "SchedulerRetries", "SchedulerLimits", "InstanceGroup",
                     "SecurityGroupList", "NetworkMetadata", "RequestGroup",
                     "RequestLevelParams", "NetworkRequestList")

    @classmethod
    def get_by_instance_uuid(cls, ctxt: RequestContext, uuid: str) -> RequestSpec:
        return cls._from_db(ctxt, store(ctxt).get(API_DB, "request_specs", uuid))

    def create(self) -> None:
        store(self._context).put(API_DB, "request_specs", self.instance_uuid, self._values())
        self.obj_reset_changes()

    save = create

    def to_legacy_filter_properties_dict(self) -> dict:
        return {"instance_type": dict(self.flavor), "scheduler_hints": self.scheduler_hints or {},
                "ignore_hosts": self.ignore_hosts or [], "force_hosts": self.force_hosts or []}

    def to_legacy_request_spec_dict(self) -> dict:
        return {"instance_type": dict(self.flavor), "image": dict(self.image),
                "num_instances": self.num_instances,
                "instance_properties": {"uuid": self.instance_uuid,
                                        "project_id": self.project_id}}


class Selection(NovaObject):
    """One host the scheduler picked, with the Placement claim to make there."""

    VERSION = "1.1"
    fields = ("compute_node_uuid", "service_host", "nodename", "cell_uuid", "limits",
              "allocation_request", "allocation_request_version")
    child_objects = ("SchedulerLimits",)


# --------------------------------------------------------------------------- cell DBs


class Instance(NovaObject):
    """A server, in its cell's database (``nova/objects/instance.py``)."""

    VERSION = "2.8"
    fields = ("uuid", "display_name", "project_id", "user_id", "vm_state", "task_state",
              "power_state", "host", "node", "launched_on", "flavor", "image_ref",
              "availability_zone", "created_at", "launched_at", "terminated_at", "deleted",
              "system_metadata")
    child_objects = ("ServiceList", "InstanceInfoCache", "SecurityGroupList", "InstanceFault",
                     "PciDeviceList", "InstanceNUMATopology", "InstancePCIRequests",
                     "InstanceDeviceMetadata", "TagList", "Flavor", "VirtCPUModel", "EC2Ids",
                     "MigrationContext", "KeyPairList", "TrustedCerts", "ResourceList")

    @remotable_classmethod
    def get_by_uuid(cls, ctxt: RequestContext, uuid: str) -> Instance:
        found = cls._from_db(ctxt, store(ctxt).get(ctxt.cell, "instances", uuid))
        if found is None or found.deleted:
            raise exception.InstanceNotFound(instance_id=uuid)
        return found

    @remotable
    def create(self) -> None:
        self.created_at = self.created_at or utcnow()
        self.deleted = False
        ctxt = self._context
        store(ctxt).put(ctxt.cell, "instances", self.uuid, self._values())
        store(ctxt).add_state(self.uuid, self.vm_state, self.task_state)
        self.obj_reset_changes()

    @remotable
    def save(self, expected_task_state: Any = None, expected_vm_state: Any = None) -> None:
        """Write the changed fields; refuse if the task_state is not the expected one
        (``nova/db/main/api.py:_instance_update``)."""
        ctxt = self._context
        changes = self.obj_get_changes()

        def change(current: dict) -> dict:
            if expected_task_state is not None:  # None: no check; [None]: must be None
                expected = expected_task_state
                expected = list(expected) if isinstance(expected, (list, tuple)) else [expected]
                if current.get("task_state") not in expected:
                    raise exception.UnexpectedTaskStateError(
                        instance_uuid=self.uuid, expected=expected,
                        actual=current.get("task_state"))
            return {**current, **changes}

        if changes and store(ctxt).update(ctxt.cell, "instances", self.uuid, change) is None:
            raise exception.InstanceNotFound(instance_id=self.uuid)
        if "vm_state" in changes or "task_state" in changes:
            store(ctxt).add_state(self.uuid, self.vm_state, self.task_state)
        self.obj_reset_changes()

    @remotable
    def destroy(self) -> None:
        """Soft delete, as Nova does: the row stays, marked deleted."""
        ctxt = self._context
        self.deleted = True
        store(ctxt).update(ctxt.cell, "instances", self.uuid,
                         lambda current: {**current, "deleted": True,
                                          "terminated_at": self.terminated_at})
        self.obj_reset_changes()

    @classmethod
    def list_all(cls, ctxt: RequestContext) -> list[Instance]:
        return [cls._from_db(ctxt, v) for v in store(ctxt).list(ctxt.cell, "instances")
                if not v.get("deleted")]


class InstanceList(NovaObject):
    """What nova-compute asks the conductor for at start-up (``init_host``)."""

    VERSION = "2.6"
    fields = ("objects",)
    child_objects = ("Instance",)

    @remotable_classmethod
    def get_by_host(cls, ctxt: RequestContext, host: str,
                    expected_attrs: list | None = None) -> InstanceList:
        return cls(ctxt, objects=[i for i in Instance.list_all(ctxt) if i.host == host])

    @remotable_classmethod
    def get_by_filters(cls, ctxt: RequestContext, filters: dict,
                       expected_attrs: list | None = None) -> InstanceList:
        """Equality filters; a list value matches any of its items."""
        def match(instance: Instance) -> bool:
            return all(getattr(instance, name) in (want if isinstance(want, list) else [want])
                       for name, want in filters.items())

        return cls(ctxt, objects=[i for i in Instance.list_all(ctxt) if match(i)])


class BlockDeviceMapping(NovaObject):
    """A disk of the instance; a boot from an image has one, local (``block_device.py``)."""

    VERSION = "1.21"
    fields = ("instance_uuid", "source_type", "destination_type", "boot_index", "image_id",
              "device_name", "volume_size", "delete_on_termination")
    child_objects = ("Instance",)

    def update_or_create(self) -> None:
        ctxt = self._context
        key = f"{self.instance_uuid}:{self.boot_index}"
        store(ctxt).put(ctxt.cell, "block_device_mappings", key, self._values())
        self.obj_reset_changes()


class BlockDeviceMappingList(NovaObject):
    VERSION = "1.18"
    fields = ("objects",)
    child_objects = ("BlockDeviceMapping",)

    @classmethod
    def create_for_instance(cls, ctxt: RequestContext, instance_uuid: str,
                            bdms: list[BlockDeviceMapping]) -> BlockDeviceMappingList:
        """``ComputeTaskManager._create_block_device_mapping``: the API's block devices,
        copied into the cell database of ``ctxt`` for this instance."""
        created = [BlockDeviceMapping(ctxt, **{**bdm._values(), "instance_uuid": instance_uuid})
                   for bdm in bdms or []]
        for bdm in created:
            bdm.update_or_create()
        return cls(ctxt, objects=created)

    @classmethod
    def get_by_instance_uuid(cls, ctxt: RequestContext,
                             instance_uuid: str) -> BlockDeviceMappingList:
        rows = store(ctxt).list(ctxt.cell, "block_device_mappings")
        return cls(ctxt, objects=[BlockDeviceMapping._from_db(ctxt, v) for v in rows
                                  if v["instance_uuid"] == instance_uuid])


class Service(NovaObject):
    """A service record, as ``openstack compute service list`` shows it
    (``nova/objects/service.py``)."""

    VERSION = "1.22"
    fields = ("id", "host", "binary", "topic", "report_count", "disabled", "disabled_reason",
              "last_seen_up", "forced_down", "version", "availability_zone", "created_at")
    child_objects = ("ComputeNode",)

    def __init__(self, context: RequestContext | None = None, **values: Any) -> None:
        """Always at this code's ``SERVICE_VERSION``, whatever the database says, as
        upstream's ``Service.__init__`` does: what is saved says what this binary can do."""
        super().__init__(context, **values)
        self.version = SERVICE_VERSION

    @staticmethod
    def _key(host: str, binary: str) -> str:
        return f"{host}:{binary}"

    @remotable_classmethod
    def get_by_host_and_binary(cls, ctxt: RequestContext, host: str,
                               binary: str) -> Service | None:
        return cls._from_db(ctxt, store(ctxt).get(ctxt.cell, "services", cls._key(host, binary)))

    @remotable_classmethod
    def get_minimum_version(cls, ctxt: RequestContext, binary: str) -> int:
        """The oldest version of ``binary`` among the services not forced down (0: none),
        ``nova/db/main/api.py:service_get_minimum_version``."""
        versions = [s.version or 0 for s in cls.list_all(ctxt)
                    if s.binary == binary and not s.forced_down]
        return min(versions, default=0)

    @remotable
    def create(self) -> None:
        ctxt = self._context
        db = store(ctxt)
        with db.transaction():
            self.id = 1 + max((s["id"] for s in db.list(ctxt.cell, "services")), default=0)
            self.created_at, self.last_seen_up = utcnow(), time.time()
            self.report_count = self.report_count or 0
            self.disabled = bool(self.disabled)
            db.put(ctxt.cell, "services", self._key(self.host, self.binary), self._values())
        self.obj_reset_changes()

    @remotable
    def save(self) -> None:
        """A report_count that grew stamps ``last_seen_up``
        (``nova/db/main/api.py:service_update``)."""
        ctxt = self._context
        changes = self.obj_get_changes()

        def change(current: dict) -> dict:
            new = {**current, **changes}
            if new.get("report_count", 0) > current.get("report_count", 0):
                new["last_seen_up"] = time.time()
            return new

        saved = store(ctxt).update(ctxt.cell, "services", self._key(self.host, self.binary), change)
        if saved is None:
            raise exception.ServiceNotFound(service_id=self._key(self.host, self.binary))
        self.last_seen_up = saved["last_seen_up"]
        self.obj_reset_changes()

    @classmethod
    def list_all(cls, ctxt: RequestContext) -> list[Service]:
        return [cls._from_db(ctxt, v) for v in store(ctxt).list(ctxt.cell, "services")]


class ComputeNode(NovaObject):
    """A hypervisor's resources (``nova/objects/compute_node.py``)."""

    VERSION = "1.19"
    fields = ("uuid", "host", "hypervisor_hostname", "hypervisor_type", "vcpus", "memory_mb",
              "local_gb", "cpu_allocation_ratio", "ram_allocation_ratio",
              "disk_allocation_ratio")
    child_objects = ("HVSpec", "PciDevicePoolList")

    @remotable_classmethod
    def get_by_host_and_nodename(cls, ctxt: RequestContext, host: str,
                                 nodename: str) -> ComputeNode:
        for node in cls.list_all(ctxt):
            if node.host == host and node.hypervisor_hostname == nodename:
                return node
        raise exception.ComputeHostNotFound(host=host)

    @remotable
    def create(self) -> None:
        ctxt = self._context
        store(ctxt).put(ctxt.cell, "compute_nodes", self.uuid, self._values())
        self.obj_reset_changes()

    save = create

    @classmethod
    def list_all(cls, ctxt: RequestContext) -> list[ComputeNode]:
        return [cls._from_db(ctxt, v) for v in store(ctxt).list(ctxt.cell, "compute_nodes")]


class ComputeNodeList(NovaObject):
    VERSION = "1.17"
    fields = ("objects",)
    child_objects = ("ComputeNode",)

    @remotable_classmethod
    def get_all_by_uuids(cls, ctxt: RequestContext, uuids: list[str]) -> ComputeNodeList:
        """Which of the hypervisor's nodes the database knows (``init_host``)."""
        return cls(ctxt, objects=[n for n in ComputeNode.list_all(ctxt) if n.uuid in uuids])
