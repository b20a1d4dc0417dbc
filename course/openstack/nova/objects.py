"""Nova's versioned objects, small: fields, changes, remotable methods, the serializer.

``nova/objects/*.py`` on oslo.versionedobjects.  What matters for messaging:

* an object travels as ``{"nova_object.name", "nova_object.namespace",
  "nova_object.version", "nova_object.data", "nova_object.changes"}``
  (``obj_to_primitive``), through :class:`NovaObjectSerializer`, the serializer Nova
  gives every RPC client and server (``nova/objects/base.py``);
* a method marked :func:`remotable` (``instance.save()``) runs against the database
  where there is one, and becomes a conductor **call** ``object_action`` where there
  is none (nova-compute: ``nova/cmd/compute.py`` sets ``indirection_api``); a
  :func:`remotable_classmethod` becomes ``object_class_action_versions``.  The conductor
  sends back what changed, which the caller copies into its object
  (``oslo_versionedobjects/base.py:remotable``).

Where an object goes is read from its context's ``backend``: a
:class:`~course.openstack.nova.db.Database`, or the conductor API (``is_indirection``).
"""

from __future__ import annotations

import copy
import functools
import time
from typing import Any, ClassVar

from . import exception
from .context import CELL0, CELL1, RequestContext
from .db import API_DB

NAMESPACE = "nova"
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

REGISTRY: dict[str, type[NovaObject]] = {}


def utcnow() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _field(name: str) -> property:
    def get(self: NovaObject) -> Any:
        return self._data.get(name)

    def set_(self: NovaObject, value: Any) -> None:
        self._data[name] = value
        self._changed.add(name)

    return property(get, set_)


def _db(ctxt: RequestContext) -> Any:
    return ctxt.backend


def remotable(fn: Any) -> Any:
    """Run here with a database; else ask the conductor (``object_action``)."""

    @functools.wraps(fn)
    def wrapper(self: NovaObject, *args: Any, **kwargs: Any) -> Any:
        api = self._context.backend
        if not getattr(api, "is_indirection", False):
            return fn(self, *args, **kwargs)
        updates, result = api.object_action(self._context, self, fn.__name__, list(args),
                                            kwargs)
        for name, value in updates.items():
            if name in self.fields:
                self._data[name] = value
        self._changed = set(updates.get("obj_what_changed", []))
        return result

    return wrapper


def remotable_classmethod(fn: Any) -> Any:
    """A class method that runs here with a database; else ``object_class_action_versions``."""

    @functools.wraps(fn)
    def wrapper(cls: type[NovaObject], ctxt: RequestContext, *args: Any, **kwargs: Any) -> Any:
        api = ctxt.backend
        if not getattr(api, "is_indirection", False):
            return fn(cls, ctxt, *args, **kwargs)
        return api.object_class_action_versions(ctxt, cls.__name__, fn.__name__,
                                                {cls.__name__: cls.VERSION}, list(args),
                                                kwargs)

    return classmethod(wrapper)


class NovaObject:
    """A versioned object: named fields, the set of those changed since the last save."""

    VERSION: ClassVar[str] = "1.0"
    fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        REGISTRY[cls.__name__] = cls
        for name in cls.fields:
            setattr(cls, name, _field(name))

    def __init__(self, context: RequestContext | None = None, **values: Any) -> None:
        self._context = context
        self._data: dict[str, Any] = {}
        self._changed: set[str] = set()
        for name, value in values.items():
            if name not in self.fields:
                raise TypeError(f"{type(self).__name__} has no field {name}")
            setattr(self, name, value)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._data.items()
                          if not isinstance(v, (dict, list, NovaObject)))
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._data == self._data  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def obj_what_changed(self) -> set[str]:
        return set(self._changed)

    def obj_reset_changes(self) -> None:
        self._changed.clear()

    def obj_clone(self) -> NovaObject:
        clone = copy.copy(self)
        clone._data = copy.deepcopy(self._data)
        clone._changed = set(self._changed)
        return clone

    def obj_to_primitive(self) -> dict:
        return {"nova_object.name": type(self).__name__, "nova_object.namespace": NAMESPACE,
                "nova_object.version": self.VERSION,
                "nova_object.data": {k: _to_primitive(v) for k, v in self._data.items()},
                "nova_object.changes": sorted(self._changed)}

    @classmethod
    def obj_from_primitive(cls, primitive: dict, context: RequestContext | None) -> NovaObject:
        objclass = REGISTRY[primitive["nova_object.name"]]
        obj = objclass(context)
        obj._data = {k: _from_primitive(v, context)
                     for k, v in primitive.get("nova_object.data", {}).items()}
        obj._changed = set(primitive.get("nova_object.changes", []))
        return obj

    def _values(self) -> dict:
        """What the database stores: the primitive data."""
        return {k: _to_primitive(v) for k, v in self._data.items()}

    @classmethod
    def _from_db(cls, ctxt: RequestContext, values: dict | None) -> Any:
        if values is None:
            return None
        obj = cls(ctxt)
        obj._data = {k: _from_primitive(v, ctxt) for k, v in values.items()}
        return obj


def _to_primitive(value: Any) -> Any:
    if isinstance(value, NovaObject):
        return value.obj_to_primitive()
    if isinstance(value, (list, tuple)):
        return [_to_primitive(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_primitive(v) for k, v in value.items()}
    return value


def _from_primitive(value: Any, ctxt: RequestContext | None) -> Any:
    if isinstance(value, dict) and "nova_object.name" in value:
        return NovaObject.obj_from_primitive(value, ctxt)
    if isinstance(value, list):
        return [_from_primitive(v, ctxt) for v in value]
    if isinstance(value, dict):
        return {k: _from_primitive(v, ctxt) for k, v in value.items()}
    return value


class NovaObjectSerializer:
    """``nova/objects/base.py:NovaObjectSerializer``: objects to primitives and back.

    ``backend`` is what a received context points to: the service's database, or
    for nova-compute the conductor API.
    """

    def __init__(self, backend: Any = None) -> None:
        self.backend = backend

    def serialize_entity(self, ctxt: dict, entity: Any) -> Any:
        return _to_primitive(entity)

    def deserialize_entity(self, ctxt: Any, entity: Any) -> Any:
        if not isinstance(ctxt, RequestContext):
            ctxt = self.deserialize_context(dict(ctxt or {}))
        return _from_primitive(entity, ctxt)

    def serialize_context(self, ctxt: dict) -> dict:
        return dict(ctxt or {})

    def deserialize_context(self, ctxt: dict) -> RequestContext:
        return RequestContext(ctxt, backend=self.backend)


# --------------------------------------------------------------------------- the API DB


class CellMapping(NovaObject):
    """A cell: its message queue and its database (``nova/objects/cell_mapping.py``)."""

    VERSION = "1.1"
    fields = ("uuid", "name", "transport_url", "database_connection", "disabled")

    @property
    def db_name(self) -> str:
        return CELL0 if self.uuid == CELL0_UUID else CELL1

    @classmethod
    def get_by_uuid(cls, ctxt: RequestContext, uuid: str) -> CellMapping:
        found = cls._from_db(ctxt, _db(ctxt).get(API_DB, "cell_mappings", uuid))
        if found is None:
            raise exception.NotFound(f"Cell {uuid} has no mapping.")
        return found

    @classmethod
    def get_all(cls, ctxt: RequestContext) -> list[CellMapping]:
        return [cls._from_db(ctxt, v) for v in _db(ctxt).list(API_DB, "cell_mappings")]

    def create(self) -> None:
        _db(self._context).add(API_DB, "cell_mappings", self.uuid, self._values())


class HostMapping(NovaObject):
    """Which cell a compute host belongs to (``nova/objects/host_mapping.py``)."""

    VERSION = "1.0"
    fields = ("host", "cell_mapping")

    @classmethod
    def get_by_host(cls, ctxt: RequestContext, host: str) -> HostMapping:
        found = cls._from_db(ctxt, _db(ctxt).get(API_DB, "host_mappings", host))
        if found is None:
            raise exception.HostMappingNotFound(name=host)
        return found

    def create(self) -> bool:
        return _db(self._context).add(API_DB, "host_mappings", self.host, self._values())


def discover_hosts(ctxt: RequestContext) -> list[str]:
    """``nova-manage cell_v2 discover_hosts``: map every unmapped compute node to cell1."""
    cell1 = next(c for c in CellMapping.get_all(ctxt) if c.uuid != CELL0_UUID)
    mapped = []
    for node in ComputeNode.list_all(ctxt):
        if HostMapping(ctxt, host=node.host, cell_mapping=cell1).create():
            mapped.append(node.host)
    return mapped


class InstanceMapping(NovaObject):
    """Which cell an instance lives in; None while it is being scheduled."""

    VERSION = "1.2"
    fields = ("instance_uuid", "cell_mapping", "project_id", "queued_for_delete")

    @classmethod
    def get_by_instance_uuid(cls, ctxt: RequestContext, uuid: str) -> InstanceMapping:
        found = cls._from_db(ctxt, _db(ctxt).get(API_DB, "instance_mappings", uuid))
        if found is None:
            raise exception.InstanceMappingNotFound(uuid=uuid)
        return found

    @classmethod
    def get_all(cls, ctxt: RequestContext) -> list[InstanceMapping]:
        return [cls._from_db(ctxt, v) for v in _db(ctxt).list(API_DB, "instance_mappings")]

    def create(self) -> None:
        _db(self._context).put(API_DB, "instance_mappings", self.instance_uuid, self._values())
        self.obj_reset_changes()

    save = create


class BuildRequest(NovaObject):
    """The instance as the API knows it before a cell has it (``nova/objects/build_request.py``)."""

    VERSION = "1.3"
    fields = ("instance_uuid", "project_id", "instance", "block_device_mappings", "tags")

    @classmethod
    def get_by_instance_uuid(cls, ctxt: RequestContext, uuid: str) -> BuildRequest:
        found = cls._from_db(ctxt, _db(ctxt).get(API_DB, "build_requests", uuid))
        if found is None:
            raise exception.BuildRequestNotFound(uuid=uuid)
        return found

    def create(self) -> None:
        _db(self._context).put(API_DB, "build_requests", self.instance_uuid, self._values())
        self.obj_reset_changes()

    def destroy(self) -> None:
        if not _db(self._context).delete(API_DB, "build_requests", self.instance_uuid):
            raise exception.BuildRequestNotFound(uuid=self.instance_uuid)

    def get_new_instance(self, ctxt: RequestContext) -> Instance:
        instance = Instance(ctxt)
        instance._data = copy.deepcopy(self.instance._data)
        return instance


class RequestSpec(NovaObject):
    """What the scheduler needs to pick a host (``nova/objects/request_spec.py``)."""

    VERSION = "1.14"
    fields = ("instance_uuid", "flavor", "image", "num_instances", "project_id", "user_id",
              "availability_zone", "ignore_hosts", "force_hosts", "retry", "scheduler_hints",
              "security_groups", "requested_destination")

    @classmethod
    def get_by_instance_uuid(cls, ctxt: RequestContext, uuid: str) -> RequestSpec:
        return cls._from_db(ctxt, _db(ctxt).get(API_DB, "request_specs", uuid))

    def create(self) -> None:
        _db(self._context).put(API_DB, "request_specs", self.instance_uuid, self._values())
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


# --------------------------------------------------------------------------- cell DBs


class Instance(NovaObject):
    """A server, in its cell's database (``nova/objects/instance.py``)."""

    VERSION = "2.8"
    fields = ("uuid", "display_name", "project_id", "user_id", "vm_state", "task_state",
              "power_state", "host", "node", "launched_on", "flavor", "image_ref",
              "availability_zone", "created_at", "launched_at", "terminated_at", "deleted",
              "system_metadata")

    @remotable_classmethod
    def get_by_uuid(cls, ctxt: RequestContext, uuid: str) -> Instance:
        found = cls._from_db(ctxt, _db(ctxt).get(ctxt.cell, "instances", uuid))
        if found is None or found.deleted:
            raise exception.InstanceNotFound(instance_id=uuid)
        return found

    @remotable
    def create(self) -> None:
        self.created_at = self.created_at or utcnow()
        self.deleted = False
        ctxt = self._context
        _db(ctxt).put(ctxt.cell, "instances", self.uuid, self._values())
        _db(ctxt).add_state(self.uuid, self.vm_state, self.task_state)
        self.obj_reset_changes()

    @remotable
    def save(self, expected_task_state: Any = None, expected_vm_state: Any = None) -> None:
        """Write the changed fields; refuse if the task_state is not the expected one
        (``nova/db/main/api.py:_instance_update``)."""
        ctxt = self._context
        changes = {name: _to_primitive(self._data.get(name)) for name in self._changed}

        def change(current: dict) -> dict:
            if expected_task_state is not None:  # None: no check; [None]: must be None
                expected = expected_task_state
                expected = list(expected) if isinstance(expected, (list, tuple)) else [expected]
                if current.get("task_state") not in expected:
                    raise exception.UnexpectedTaskStateError(
                        instance_uuid=self.uuid, expected=expected,
                        actual=current.get("task_state"))
            return {**current, **changes}

        if changes and _db(ctxt).update(ctxt.cell, "instances", self.uuid, change) is None:
            raise exception.InstanceNotFound(instance_id=self.uuid)
        if "vm_state" in changes or "task_state" in changes:
            _db(ctxt).add_state(self.uuid, self.vm_state, self.task_state)
        self.obj_reset_changes()

    @remotable
    def destroy(self) -> None:
        """Soft delete, as Nova does: the row stays, marked deleted."""
        ctxt = self._context
        self.deleted = True
        _db(ctxt).update(ctxt.cell, "instances", self.uuid,
                         lambda current: {**current, "deleted": True,
                                          "terminated_at": self.terminated_at})
        self.obj_reset_changes()

    @classmethod
    def list_all(cls, ctxt: RequestContext) -> list[Instance]:
        return [cls._from_db(ctxt, v) for v in _db(ctxt).list(ctxt.cell, "instances")]


class InstanceList(NovaObject):
    VERSION = "2.6"
    fields = ("objects",)


class BlockDeviceMapping(NovaObject):
    VERSION = "1.20"
    fields = ("instance_uuid", "source_type", "destination_type", "boot_index", "image_id",
              "device_name", "volume_size", "delete_on_termination")


class Service(NovaObject):
    """A service record, as ``openstack compute service list`` shows it
    (``nova/objects/service.py``)."""

    VERSION = "1.22"
    fields = ("id", "host", "binary", "topic", "report_count", "disabled", "disabled_reason",
              "last_seen_up", "forced_down", "version", "availability_zone", "created_at")

    @staticmethod
    def _key(host: str, binary: str) -> str:
        return f"{host}:{binary}"

    @remotable_classmethod
    def get_by_host_and_binary(cls, ctxt: RequestContext, host: str,
                               binary: str) -> Service | None:
        return cls._from_db(ctxt, _db(ctxt).get(ctxt.cell, "services", cls._key(host, binary)))

    @remotable
    def create(self) -> None:
        ctxt = self._context
        db = _db(ctxt)
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
        changes = {name: _to_primitive(self._data.get(name)) for name in self._changed}

        def change(current: dict) -> dict:
            new = {**current, **changes}
            if new.get("report_count", 0) > current.get("report_count", 0):
                new["last_seen_up"] = time.time()
            return new

        saved = _db(ctxt).update(ctxt.cell, "services", self._key(self.host, self.binary), change)
        if saved is None:
            raise exception.ServiceNotFound(service_id=self._key(self.host, self.binary))
        self.last_seen_up = saved["last_seen_up"]
        self.obj_reset_changes()

    @classmethod
    def list_all(cls, ctxt: RequestContext) -> list[Service]:
        return [cls._from_db(ctxt, v) for v in _db(ctxt).list(ctxt.cell, "services")]


class ComputeNode(NovaObject):
    """A hypervisor's resources (``nova/objects/compute_node.py``)."""

    VERSION = "1.19"
    fields = ("uuid", "host", "hypervisor_hostname", "hypervisor_type", "vcpus", "memory_mb",
              "local_gb", "cpu_allocation_ratio", "ram_allocation_ratio",
              "disk_allocation_ratio")

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
        _db(ctxt).put(ctxt.cell, "compute_nodes", self.uuid, self._values())
        self.obj_reset_changes()

    save = create

    @classmethod
    def list_all(cls, ctxt: RequestContext) -> list[ComputeNode]:
        return [cls._from_db(ctxt, v) for v in _db(ctxt).list(ctxt.cell, "compute_nodes")]


class InstanceAction(NovaObject):
    """``openstack server event list``: one action per request, with its events."""

    VERSION = "1.2"
    fields = ("instance_uuid", "action", "request_id", "user_id", "project_id", "start_time",
              "finish_time", "message", "events")

    @remotable_classmethod
    def action_start(cls, ctxt: RequestContext, instance_uuid: str, action_name: str,
                     want_result: bool = True) -> InstanceAction | None:
        action = cls(ctxt, instance_uuid=instance_uuid, action=action_name,
                     request_id=ctxt.request_id, user_id=ctxt.get("user_id"),
                     project_id=ctxt.get("project_id"), start_time=utcnow(), events=[])
        _db(ctxt).put(ctxt.cell, "instance_actions", f"{instance_uuid}:{ctxt.request_id}",
                      action._values())
        return action if want_result else None

    @classmethod
    def get_by_request_id(cls, ctxt: RequestContext, instance_uuid: str,
                          request_id: str) -> InstanceAction | None:
        return cls._from_db(ctxt, _db(ctxt).get(ctxt.cell, "instance_actions",
                                                f"{instance_uuid}:{request_id}"))

    @classmethod
    def list_for(cls, ctxt: RequestContext, instance_uuid: str) -> list[InstanceAction]:
        return [cls._from_db(ctxt, v) for v in _db(ctxt).list(ctxt.cell, "instance_actions")
                if v["instance_uuid"] == instance_uuid]


class InstanceActionEvent(NovaObject):
    """One step of an action, e.g. ``compute__do_build_and_run_instance`` on a host."""

    VERSION = "1.4"
    fields = ("event", "start_time", "finish_time", "result", "host", "traceback")

    @staticmethod
    def _change(ctxt: RequestContext, instance_uuid: str, step: Any) -> None:
        key = f"{instance_uuid}:{ctxt.request_id}"

        def change(action: dict) -> dict:
            action["events"] = step(action.get("events") or [])
            return action

        _db(ctxt).update(ctxt.cell, "instance_actions", key, change)

    @remotable_classmethod
    def event_start(cls, ctxt: RequestContext, instance_uuid: str, event_name: str,
                    want_result: bool = True, host: str | None = None) -> None:
        event = {"event": event_name, "start_time": utcnow(), "finish_time": None,
                 "result": None, "host": host}
        cls._change(ctxt, instance_uuid, lambda events: [*events, event])

    @remotable_classmethod
    def event_finish_with_failure(cls, ctxt: RequestContext, instance_uuid: str,
                                  event_name: str, exc_val: str | None = None,
                                  exc_tb: str | None = None, want_result: bool = True) -> None:
        def finish(events: list) -> list:
            for event in reversed(events):
                if event["event"] == event_name and event["finish_time"] is None:
                    event.update(finish_time=utcnow(),
                                 result="Error" if exc_val else "Success", traceback=exc_tb)
                    break
            return events

        cls._change(ctxt, instance_uuid, finish)
