"""Nova's versioned objects machinery: fields, changes, remotable methods, the serializer.

``nova/objects/base.py`` on oslo.versionedobjects (``oslo_versionedobjects/base.py``).
What matters for messaging:

* an object travels as ``{"nova_object.name", "nova_object.namespace",
  "nova_object.version", "nova_object.data", "nova_object.changes"}``
  (``obj_to_primitive``), through :class:`NovaObjectSerializer`, the serializer Nova
  gives every RPC client and server;
* a method marked :func:`remotable` (``instance.save()``) runs against the database
  where there is one, and becomes a conductor **call** ``object_action`` where there
  is none (nova-compute: ``nova/cmd/compute.py`` sets ``indirection_api``); a
  :func:`remotable_classmethod` becomes ``object_class_action_versions``, which names
  the versions of the object *and of every object it may contain*
  (:func:`obj_tree_get_versions`), so that the conductor can answer in versions the
  caller understands.  The conductor sends back what changed, which the caller copies
  into its object.

Where an object goes is read from its context's ``backend``: a
:class:`~course.openstack.nova.db.Database`, or the conductor API (``is_indirection``).
"""

from __future__ import annotations

import copy
import functools
import time
from typing import Any, ClassVar

from .context import CELL1, RequestContext
from .versions import SUBOBJECTS

NAMESPACE = "nova"

REGISTRY: dict[str, type[NovaObject]] = {}


def utcnow() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def store(ctxt: RequestContext) -> Any:
    """The database a context's objects are read from and written to (where a
    remotable method runs)."""
    return ctxt.backend


def _field(name: str) -> property:
    def get(self: NovaObject) -> Any:
        return self._data.get(name)

    def set_(self: NovaObject, value: Any) -> None:
        self._data[name] = value
        self._changed.add(name)

    return property(get, set_)


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
                                                obj_tree_get_versions(cls.__name__),
                                                list(args), kwargs)

    return classmethod(wrapper)


class NovaObject:
    """A versioned object: named fields, the set of those changed since the last save."""

    VERSION: ClassVar[str] = "1.0"
    fields: ClassVar[tuple[str, ...]] = ()
    #: The objects upstream's fields may hold (``ObjectField``, ``ListOfObjectsField``).
    child_objects: ClassVar[tuple[str, ...]] = ()

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

    def obj_get_changes(self) -> dict[str, Any]:
        """The changed fields and their values, as the database stores them."""
        return {name: _to_primitive(self._data.get(name)) for name in self._changed}

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
    for nova-compute the conductor API; ``cell`` the cell database it reads and writes
    unless targeted elsewhere (``[database] connection``: a cell conductor's own cell).
    """

    def __init__(self, backend: Any = None, cell: str = CELL1) -> None:
        self.backend = backend
        self.cell = cell

    def serialize_entity(self, ctxt: dict, entity: Any) -> Any:
        return _to_primitive(entity)

    def deserialize_entity(self, ctxt: Any, entity: Any) -> Any:
        if not isinstance(ctxt, RequestContext):
            ctxt = self.deserialize_context(dict(ctxt or {}))
        return _from_primitive(entity, ctxt)

    def serialize_context(self, ctxt: dict) -> dict:
        return dict(ctxt or {})

    def deserialize_context(self, ctxt: dict) -> RequestContext:
        return RequestContext(ctxt, backend=self.backend, cell=self.cell)


def obj_tree_get_versions(objname: str, tree: dict[str, str] | None = None) -> dict[str, str]:
    """``oslo_versionedobjects/base.py:obj_tree_get_versions``: the object's version and,
    recursively, those of every object its fields may hold."""
    tree = {} if tree is None else tree
    if objname in tree:
        return tree
    if objname in REGISTRY:
        version, children = REGISTRY[objname].VERSION, REGISTRY[objname].child_objects
    else:
        version, children = SUBOBJECTS[objname]
    tree[objname] = version
    for child in children:
        obj_tree_get_versions(child, tree)
    return tree
