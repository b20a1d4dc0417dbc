"""oslo.messaging's wire format, and how the course reads a captured message.

What travels on the broker (``oslo_messaging/_drivers/common.py``, ``amqp.py``):

* the **2.0 envelope**: the AMQP body is ``{"oslo.version": "2.0", "oslo.message":
  "<the real message, as a JSON string>"}`` (1.0 means no envelope: the old
  notification driver);
* the request context travels flattened, as ``_context_<key>`` entries of the message;
  the user's token among them, which is why notifications leave some keys out.

:mod:`course.rpc` writes messages this way; the player and the exercises read them
back with :func:`split_message`, :func:`context_summary` and :func:`mask` (secrets
never shown).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .i18n import _
from .transport_url import MASK, mask_url

ENVELOPE_VERSION = "2.0"
#: Keys never copied from a context into a notification (oslo.context's redacted copy).
SECRET_CONTEXT_KEYS = ("auth_token", "service_catalog", "auth_token_info")
#: Keys whose values are never shown: tokens, passwords, secrets, credentials.
SECRET_KEY = re.compile(r"password|passwd|pass$|secret|token|credential", re.IGNORECASE)
#: Keys of the message shown first, in this order; the others follow as sent.
MESSAGE_ORDER = ("method", "namespace", "version", "args", "event_type", "publisher_id",
                 "priority", "payload", "result", "failure", "ending")
CONTEXT_PREFIX = "_context_"


def serialize_msg(msg: dict) -> dict:
    """oslo's 2.0 envelope: the real message travels as a JSON string inside it."""
    return {"oslo.version": ENVELOPE_VERSION, "oslo.message": json.dumps(msg)}


def deserialize_msg(body: dict) -> dict:
    if isinstance(body, dict) and "oslo.message" in body:
        return json.loads(body["oslo.message"])
    return body  # 1.0: no envelope (the old notification driver)


def pack_context(msg: dict, ctxt: dict) -> None:
    """The request context travels flattened, as ``_context_<key>`` entries."""
    msg.update((CONTEXT_PREFIX + key, value) for key, value in ctxt.items())


def unpack_context(msg: dict) -> dict:
    """Take the ``_context_*`` entries out of ``msg``: the request context."""
    return {key.removeprefix(CONTEXT_PREFIX): msg.pop(key) for key in list(msg)
            if key.startswith(CONTEXT_PREFIX)}


def mask(value: Any, key: str = "") -> Any:
    """``value`` with secrets replaced by ``****``: values of keys named like a token,
    password or secret, and the passwords of URLs written in strings."""
    if key and (key in SECRET_CONTEXT_KEYS or SECRET_KEY.search(key)) \
            and value not in (None, "", [], {}):
        return MASK
    if isinstance(value, dict):
        return {k: mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask(v) for v in value]
    if isinstance(value, str):
        return mask_url(value)
    return value


def split_message(body: dict) -> tuple[dict, dict]:
    """(message, context): the oslo message without its ``_context_*`` keys, and those keys;
    the message's best-known keys first."""
    message = dict(body)
    context = unpack_context(message)
    ordered = {k: message.pop(k) for k in MESSAGE_ORDER if k in message}
    return {**ordered, **message}, context


def context_summary(context: dict) -> dict[str, Any]:
    """Who asked, for what: request id, user, project, roles; the token masked."""
    def who(name: str) -> str:
        label, ident = context.get(f"{name}_name"), context.get(f"{name}_id")
        if label and ident and label != ident:
            return f"{label} ({ident})"
        return str(label or ident or "")
    summary: dict[str, Any] = {"request_id": context.get("request_id")}
    if context.get("global_request_id"):
        summary["global_request_id"] = context["global_request_id"]
    summary[_("user")] = who("user")
    summary[_("project")] = who("project")
    summary[_("roles")] = ", ".join(map(str, context.get("roles") or []))
    if context.get("is_admin"):
        summary["is_admin"] = True
    if context.get("auth_token"):
        summary["auth_token"] = MASK
    shown = {"request_id", "global_request_id", "user_id", "user_name", "project_id",
             "project_name", "roles", "is_admin", "auth_token"}
    others = len(set(context) - shown)
    summary = {k: v for k, v in summary.items() if v not in (None, "")}
    if others:
        summary["…"] = _("{count} other keys", count=others)
    return summary
