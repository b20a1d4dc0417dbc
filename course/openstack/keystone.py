"""Keystone on the bus: notifications only, on exchange ``keystone``, never RPC.

Keystone answers everything over HTTP (``POST /v3/auth/tokens``, ``POST /v3/projects``...)
and has no RPC server and no RPC client.  What it puts on RabbitMQ are notifications
(``keystone/notifications.py``), once ``[oslo_messaging_notifications] driver`` is set
(upstream's default is no driver, so nothing at all):

* publisher ``identity.<host>`` (``[DEFAULT] default_publisher_id`` or the host name);
* exchange ``keystone`` (``keystone/conf/__init__.py`` sets the control exchange),
  priority INFO, so the queue ``notifications.info``;
* ``identity.<resource_type>.<operation>`` for ``created``, ``updated``, ``deleted``,
  ``disabled`` (e.g. ``identity.project.created``), with a CADF payload when
  ``[DEFAULT] notification_format`` is ``cadf`` (the default) or
  ``{"resource_info": <id>}`` when it is ``basic``;
* ``identity.authenticate`` for every authentication, a CADF event whose ``outcome`` is
  ``success``, ``failure`` or ``pending``.

``[DEFAULT] notification_opt_out`` (``keystone/conf/default.py``) suppresses by
default ``identity.authenticate.success`` and ``identity.authenticate.pending``: the
outcome appended to ``identity.authenticate`` is compared with the list
(``_check_notification_opt_out``), so failures are sent and successes are not.  (Until
keystone 24.0.0 the list also held ``identity.authenticate.failed``, which never
matched: the outcome is ``failure``.)

Start with :class:`Keystone`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .. import rpc
from ..errors import CourseError
from ..i18n import _
from ..trace import Trace
from .cloud import APIUnavailable, Cloud, NotFound
from .service import Service

#: ``keystone/conf/__init__.py``: Keystone's control exchange.
CONTROL_EXCHANGE = "keystone"
#: ``keystone/notifications.py``: ``SERVICE = 'identity'``.
SERVICE = "identity"
#: ``keystone/notifications.py:ACTIONS``.
ACTIONS = ("created", "updated", "deleted", "disabled", "internal")
#: ``keystone/conf/default.py``: ``notification_opt_out`` default (since keystone 24.0.0).
DEFAULT_OPT_OUT = ("identity.authenticate.success", "identity.authenticate.pending")

# pycadf's taxonomy (pycadf/cadftaxonomy.py) and event type.
OUTCOME_SUCCESS = "success"
OUTCOME_FAILURE = "failure"
OUTCOME_PENDING = "pending"
CADF_EVENT = "http://schemas.dmtf.org/cloud/audit/1.0/event"
ACCOUNT_USER = "service/security/account/user"
SERVICE_SECURITY = "service/security"
#: ``keystone/notifications.py:CADF_TYPE_MAP`` (part of it).
CADF_TYPE_MAP = {
    "group": "data/security/group",
    "project": "data/security/project",
    "role": "data/security/role",
    "user": "data/security/account/user",
    "domain": "data/security/domain",
    "region": "data/security/region",
    "endpoint": "data/security/endpoint",
    "service": "data/security/service",
    "policy": "data/security/policy",
}
UNKNOWN = "unknown"


class KeystoneUnavailable(APIUnavailable):
    """Keystone is stopped: nothing answers on port 5000."""


@dataclass(frozen=True)
class Authentication:
    """The result of ``POST /v3/auth/tokens``: a token on success, none on failure."""

    user: str
    outcome: str
    token: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == OUTCOME_SUCCESS


class KeystoneService(Service):
    """The keystone WSGI process: no RPC server (``topic`` is None), one notifier."""

    binary = "keystone"
    topic = None
    control_exchange = CONTROL_EXCHANGE


class Keystone(Cloud):
    """A Keystone that sends notifications, as a deployment with
    ``[oslo_messaging_notifications] driver = messagingv2`` does.

    >>> with Keystone() as keystone:
    ...     project = keystone.create_project("demo")       # identity.project.created
    ...     keystone.authenticate("admin", "wrong").outcome   # identity.authenticate, failure
    'failure'

    ``driver="noop"`` is upstream's default (nothing sent); ``notification_opt_out=()``
    sends every authentication.  ``identity.<resource>.disabled`` is sent only for
    ``public`` events: Keystone itself marks project and domain disabling
    ``public=False`` (in-process callbacks only, ``keystone/resource/core.py``), so
    :meth:`update_project` with ``enabled=False`` sends ``updated`` and keeps
    ``disabled`` in :attr:`internal_events`.
    """

    def __init__(self, url: str | None = None, trace: Trace | None = None,
                 host: str = "controller", driver: str = "messagingv2",
                 notification_format: str = "cadf",
                 notification_opt_out: Iterable[str] = DEFAULT_OPT_OUT,
                 topics: Iterable[str] = ("notifications",),
                 bootstrap_password: str = "secret", options: dict | None = None) -> None:
        if notification_format not in ("basic", "cadf"):
            raise CourseError(_("notification_format is basic or cadf, not {value}.",
                                value=notification_format))
        super().__init__(url, trace)
        self.notification_format = notification_format
        self.notification_opt_out = tuple(notification_opt_out)
        self.api = KeystoneService(host, url, self.trace, options)
        #: ``keystone/notifications.py:_get_notifier``: publisher ``identity.<host>``.
        self.notifier = rpc.get_notifier(self.api.transport,
                                         publisher_id=f"{SERVICE}.{host}", driver=driver,
                                         topics=tuple(topics))
        self._lock = threading.Lock()
        self.projects: dict[str, dict] = {}
        self.users: dict[str, dict] = {}
        self._passwords: dict[str, str] = {}
        #: Events sent to in-process callbacks only (``public=False``):
        #: (event_type, resource id).
        self.internal_events: list[tuple[str, str]] = []
        # keystone-manage bootstrap: offline, before the service runs, so no notification
        admin = self._new("user", name="admin", domain_id="default")
        self._passwords[admin["id"]] = bootstrap_password

    def __repr__(self) -> str:
        return (f"<Keystone {self.api.name} format={self.notification_format} "
                f"driver={self.notifier.driver}>")

    @property
    def host(self) -> str:
        return self.api.host

    @property
    def services(self) -> list[Service]:
        return [self.api]

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> Keystone:
        self._check_startable()
        self.api.start()
        return self

    def stop(self) -> None:
        self._stopped = True
        self.api.cleanup()

    # -- notifications (keystone/notifications.py) --------------------------------------------

    def opted_out(self, event_type: str, outcome: str | None = None) -> bool:
        """``_check_notification_opt_out``: authentication events are compared with their
        outcome appended (``identity.authenticate.success``)."""
        if "authenticate" in event_type and outcome:
            event_type = f"{event_type}.{outcome}"
        return event_type in self.notification_opt_out

    def _initiator(self, user_id: str | None) -> dict:
        initiator: dict[str, Any] = {"typeURI": ACCOUNT_USER,
                                     "host": {"address": "192.0.2.10",
                                              "agent": "python-keystoneclient"}}
        if user_id:
            initiator.update(id=user_id, user_id=user_id)
            user = self.users.get(user_id)
            if user:
                initiator["username"] = user["name"]
        return initiator

    def _send_audit(self, action: str, initiator: dict, outcome: str, target: dict,
                    event_type: str, **extra: Any) -> bool:
        """``_send_audit_notification``: one CADF event, unless opted out."""
        if self.opted_out(event_type, outcome):
            return False
        payload = {"typeURI": CADF_EVENT, "id": str(uuid.uuid4()),
                   "eventTime": datetime.now(timezone.utc).strftime(
                       "%Y-%m-%dT%H:%M:%S.%f+0000"),
                   "action": action, "eventType": "activity", "outcome": outcome,
                   "initiator": initiator, "target": target,
                   "observer": {"typeURI": SERVICE_SECURITY, "id": "keystone"}, **extra}
        self.notifier.info({}, event_type, payload)
        return True

    def notify(self, resource_type: str, operation: str, resource_id: str,
               public: bool = True, initiator_id: str | None = None) -> bool:
        """``Audit.<operation>(resource_type, resource_id)``: send
        ``identity.<resource_type>.<operation>`` (True if it went to the bus)."""
        if operation not in ACTIONS:
            raise CourseError(_("Unknown operation {operation}: use one of {operations}.",
                                operation=operation, operations=", ".join(ACTIONS)))
        event_type = f"{SERVICE}.{resource_type}.{operation}"
        if not public:
            self.internal_events.append((event_type, resource_id))
            return False
        if self.notification_format == "basic":
            if self.opted_out(event_type):
                return False
            self.notifier.info({}, event_type, {"resource_info": resource_id})
            return True
        target = {"typeURI": CADF_TYPE_MAP.get(resource_type, UNKNOWN), "id": resource_id}
        return self._send_audit(f"{operation}.{resource_type}", self._initiator(initiator_id),
                                OUTCOME_SUCCESS, target, event_type,
                                resource_info=resource_id)

    # -- the API (HTTP) ---------------------------------------------------------------------

    def _request(self, caller: Service | str | None, method: str, path: str) -> str:
        if not self.api.running:
            raise KeystoneUnavailable(_("{service} is stopped: its API does not answer.",
                                        service=self.api.name))
        request_id = f"req-{uuid.uuid4()}"
        name = caller.name if isinstance(caller, Service) else caller or "openstack"
        self.trace.record("http", "http", name, method=f"{method} {path}",
                          peer=self.api.name, request_id=request_id)
        return request_id

    def _new(self, kind: str, **attrs: Any) -> dict:
        record = {"id": uuid.uuid4().hex, "enabled": True, **attrs}
        with self._lock:
            (self.projects if kind == "project" else self.users)[record["id"]] = record
        return record

    def _get(self, kind: str, resource_id: str) -> dict:
        table = self.projects if kind == "project" else self.users
        with self._lock:
            record = table.get(resource_id)
        if record is None:
            if kind == "project":
                raise NotFound(_("No project {id} in this cloud.", id=resource_id))
            raise NotFound(_("No user {id} in this cloud.", id=resource_id))
        return record

    def create_project(self, name: str, domain_id: str = "default",
                       caller: Service | str | None = None) -> dict:
        """``POST /v3/projects`` → ``identity.project.created``."""
        self._request(caller, "POST", "/v3/projects")
        project = self._new("project", name=name, domain_id=domain_id)
        self.notify("project", "created", project["id"])
        return project

    def update_project(self, project_id: str, caller: Service | str | None = None,
                       **changes: Any) -> dict:
        """``PATCH /v3/projects/<id>`` → ``identity.project.updated`` (and, when
        disabling it, an internal ``identity.project.disabled``)."""
        self._request(caller, "PATCH", f"/v3/projects/{project_id}")
        project = self._get("project", project_id)
        was_enabled = project["enabled"]
        project.update(changes)
        if was_enabled and not project["enabled"]:
            self.notify("project", "disabled", project_id, public=False)
        self.notify("project", "updated", project_id)
        return project

    def delete_project(self, project_id: str, caller: Service | str | None = None) -> None:
        """``DELETE /v3/projects/<id>`` → ``identity.project.deleted``."""
        self._request(caller, "DELETE", f"/v3/projects/{project_id}")
        self._get("project", project_id)
        with self._lock:
            del self.projects[project_id]
        self.notify("project", "deleted", project_id)

    def create_user(self, name: str, password: str, project_id: str | None = None,
                    caller: Service | str | None = None) -> dict:
        """``POST /v3/users`` → ``identity.user.created``."""
        self._request(caller, "POST", "/v3/users")
        user = self._new("user", name=name, domain_id="default",
                         default_project_id=project_id)
        self._passwords[user["id"]] = password
        self.notify("user", "created", user["id"])
        return user

    def delete_user(self, user_id: str, caller: Service | str | None = None) -> None:
        """``DELETE /v3/users/<id>`` → ``identity.user.deleted``."""
        self._request(caller, "DELETE", f"/v3/users/{user_id}")
        self._get("user", user_id)
        with self._lock:
            del self.users[user_id]
            self._passwords.pop(user_id, None)
        self.notify("user", "deleted", user_id)

    def authenticate(self, username: str, password: str,
                     caller: Service | str | None = None) -> Authentication:
        """``POST /v3/auth/tokens`` (``openstack token issue``) → ``identity.authenticate``
        with outcome success or failure (``CadfNotificationWrapper``), unless opted out."""
        self._request(caller, "POST", "/v3/auth/tokens")
        with self._lock:
            user = next((u for u in self.users.values() if u["name"] == username), None)
        user_id = user["id"] if user else None
        ok = user is not None and user["enabled"] and self._passwords.get(user_id) == password
        outcome = OUTCOME_SUCCESS if ok else OUTCOME_FAILURE
        self._send_audit("authenticate", self._initiator(user_id), outcome,
                         {"typeURI": ACCOUNT_USER, "id": UNKNOWN},
                         f"{SERVICE}.authenticate")
        return Authentication(username, outcome, f"gAAAAA{uuid.uuid4().hex}" if ok else None)


__all__ = [
    "ACTIONS", "CONTROL_EXCHANGE", "DEFAULT_OPT_OUT", "Authentication", "Keystone",
    "KeystoneService", "KeystoneUnavailable", "NotFound",
]
