"""Request contexts as they travel in a message's ``_context_*`` entries."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from .constants import ISO8601_TIME_FORMAT


def request_context(is_admin: bool = False, project_id: str | None = "demo",
                    user_id: str | None = "demo") -> dict:
    """A Neutron request context (``neutron_lib/context.py``), a fresh request id each."""
    return {"request_id": f"req-{uuid.uuid4()}", "user_id": user_id,
            "project_id": project_id, "tenant_id": project_id, "is_admin": is_admin,
            "roles": ["admin"] if is_admin else ["member", "reader"],
            "timestamp": datetime.now(timezone.utc).strftime(ISO8601_TIME_FORMAT)}


def admin_context() -> dict:
    """What agents send with: ``get_admin_context_without_session()``, no user."""
    return request_context(is_admin=True, project_id=None, user_id=None)
