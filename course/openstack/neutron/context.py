"""Request contexts as they travel in a message's ``_context_*`` entries."""

from __future__ import annotations

from datetime import datetime, timezone

from .. import service
from .constants import ISO8601_TIME_FORMAT


def request_context(is_admin: bool = False, project_id: str | None = "demo",
                    user_id: str | None = "demo") -> dict:
    """A Neutron request context (``neutron_lib/context.py``): a tenant_id too."""
    return service.request_context(
        project_id, user_id, is_admin, tenant_id=project_id,
        timestamp=datetime.now(timezone.utc).strftime(ISO8601_TIME_FORMAT))


def admin_context() -> dict:
    """What agents send with: ``get_admin_context_without_session()``, no user."""
    return request_context(is_admin=True, project_id=None, user_id=None)
