"""Where a message goes, or what a server listens to; which versions are compatible.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, replace
from typing import Any

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """Where a message goes (client side) or what a server listens to, as in oslo.messaging."""

    exchange: str | None = None
    topic: str | None = None
    namespace: str | None = None
    version: str | None = None
    server: str | None = None
    fanout: bool | None = None
    legacy_namespaces: tuple[str, ...] = ()

    def __call__(self, **changes: Any) -> Target:
        return replace(self, **changes)

    @property
    def accepted_namespaces(self) -> list[str | None]:
        return [self.namespace, *self.legacy_namespaces]


@functools.lru_cache(maxsize=1024)
def version_is_compatible(implemented: str | None, requested: str | None) -> bool:
    """Same major version, and a minor (then revision) no newer than the server's."""
    if implemented is None:
        return True
    if requested is None:
        return False
    want = [int(p) for p in requested.split(".")] + [0, 0]
    have = [int(p) for p in implemented.split(".")] + [0, 0]
    return want[0] == have[0] and tuple(want[1:3]) <= tuple(have[1:3])


class NoOpSerializer:
    """Turns arguments and contexts into JSON-able values and back (Nova's turns objects)."""

    def serialize_entity(self, ctxt: dict, entity: Any) -> Any:
        return entity

    def deserialize_entity(self, ctxt: dict, entity: Any) -> Any:
        return entity

    def serialize_context(self, ctxt: Any) -> dict:
        return dict(ctxt or {})

    def deserialize_context(self, ctxt: dict) -> dict:
        return ctxt
