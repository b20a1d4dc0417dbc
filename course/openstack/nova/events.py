"""What happens to an instance, on the record: actions, their events, external events.

``nova/objects/instance_action.py``: each request on a server is an action
(``openstack server event list``) whose steps are events, such as
``compute__do_build_and_run_instance`` on the chosen host; nova-compute records them
through the conductor (``object_class_action_versions``).
``nova/objects/external_event.py``: what Neutron or Cinder tells Nova over HTTP, which
nova-api casts to the instance's compute.
"""

from __future__ import annotations

from typing import Any

from .base import NovaObject, remotable_classmethod, store, utcnow
from .context import RequestContext


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
        store(ctxt).put(ctxt.cell, "instance_actions", f"{instance_uuid}:{ctxt.request_id}",
                      action._values())
        return action if want_result else None

    @classmethod
    def list_for(cls, ctxt: RequestContext, instance_uuid: str) -> list[InstanceAction]:
        return [cls._from_db(ctxt, v) for v in store(ctxt).list(ctxt.cell, "instance_actions")
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

        store(ctxt).update(ctxt.cell, "instance_actions", key, change)

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


class InstanceExternalEvent(NovaObject):
    """What Neutron or Cinder tells Nova over HTTP (``nova/objects/external_event.py``)."""

    VERSION = "1.5"
    fields = ("instance_uuid", "name", "status", "tag", "data")

    @property
    def key(self) -> str:
        return self.name if self.tag is None else f"{self.name}-{self.tag}"
