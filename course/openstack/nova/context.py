"""The request context: who asks, and which request this message belongs to.

Like ``nova/context.py``: a context is created once per API request with a new
``req-<uuid>`` request id and travels with every RPC message of that request,
flattened as ``_context_<key>`` entries (``to_dict``).  It also says *where* objects
are read and written (``target_cell`` in Nova sets the cell database on the
context): here ``backend`` is the database of a service that has one, or the
conductor RPC API for nova-compute, which has none.  ``backend``, ``cell`` and
``cell_mapping`` stay in the process; only the dict's items go on the wire.

Targeting a cell's mapping also says which message queue reaches that cell: upstream's
``set_target_cell`` puts a transport to the mapping's ``transport_url`` on the context
(``mq_connection``), and ``nova/rpc.py:get_cell_client`` sends through it; here the
context keeps the mapping and the sending service opens (and caches) that transport
(:meth:`~.service.NovaService.cell_client`).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

#: The cell databases (DevStack names them nova_cell0 and nova_cell1).
CELL0 = "nova_cell0"
CELL1 = "nova_cell1"


def generate_request_id() -> str:
    """oslo.context's request ids: ``req-`` and a uuid4."""
    return f"req-{uuid.uuid4()}"


class RequestContext(dict):
    """The items of ``nova.context.RequestContext.to_dict()``, plus where objects live."""

    def __init__(self, *args: Any, backend: Any = None, cell: str = CELL1,
                 cell_mapping: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.backend = backend
        self.cell = cell
        #: The CellMapping targeted (``target_cell``): its transport_url reaches the cell.
        self.cell_mapping = cell_mapping

    @property
    def request_id(self) -> str:
        return self.get("request_id", "")

    def elevated(self) -> RequestContext:
        """An admin copy of the context, with the same request id (``context.elevated()``)."""
        ctxt = self.copy()
        ctxt["is_admin"] = True
        ctxt["roles"] = sorted({*ctxt.get("roles", []), "admin"})
        return ctxt

    def copy(self) -> RequestContext:
        return RequestContext(self, backend=self.backend, cell=self.cell,
                              cell_mapping=self.cell_mapping)

    def to_dict(self) -> dict:
        return dict(self)


def make_context(backend: Any = None, *, user_id: str = "demo", project_id: str = "demo",
                 is_admin: bool = False, request_id: str | None = None,
                 roles: list[str] | None = None) -> RequestContext:
    """A context as keystonemiddleware and nova-api build one for each request."""
    return RequestContext(
        {
            "user_id": user_id, "project_id": project_id, "system_scope": None,
            "domain_id": None, "user_domain_id": "default", "project_domain_id": "default",
            "is_admin": is_admin, "read_only": False, "show_deleted": False,
            "auth_token": "gAAAAABfake-keystone-token" if not is_admin else None,
            "request_id": request_id or generate_request_id(), "global_request_id": None,
            "resource_uuid": None, "roles": roles or (["admin"] if is_admin
                                                      else ["member", "reader"]),
            "user_identity": f"{user_id} {project_id} - default default",
            "is_admin_project": True, "read_deleted": "no", "remote_address": "127.0.0.1",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000000", time.gmtime()),
            "quota_class": None, "user_name": user_id, "project_name": project_id,
            "service_catalog": [],
        },
        backend=backend)


def get_admin_context(backend: Any = None) -> RequestContext:
    """``nova.context.get_admin_context()``: a new request id each time (heartbeats...)."""
    return make_context(backend, user_id=None, project_id=None, is_admin=True)


def target_cell(ctxt: RequestContext, cell: Any) -> RequestContext:
    """``nova.context.target_cell``: the same request, aimed at another cell's database
    (a database name) or at a cell (a CellMapping: its database and its message queue)."""
    targeted = ctxt.copy()
    if isinstance(cell, str):
        targeted.cell, targeted.cell_mapping = cell, None
    else:
        targeted.cell, targeted.cell_mapping = cell.db_name, cell
    return targeted
