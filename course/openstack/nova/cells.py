"""Cells v2: the cell mappings of the API database, and each cell's broker.

``nova-manage cell_v2 map_cell0`` and ``create_cell`` write one ``CellMapping`` per
cell (``nova/objects/cell_mapping.py``): its name, its ``transport_url`` (the cell's
message queue) and its ``database_connection`` (the cell database).  cell0 has no
message queue (``none:///``): it only holds the instances that could not be scheduled.

A single-cell cloud (``NovaCloud(computes=[...])``) maps cell1 to the broker every
service uses, as DevStack does.  A multi-cell cloud (``NovaCloud(cells={...})``) gives
each cell a broker of its own: here a virtual host of the same broker, named after the
cell (:func:`cell_url`), as a deployment would give it a RabbitMQ (or a vhost) of its own.
The mappings keep the URL as written, password included, because the super-conductor
and nova-api connect with it; what is shown (:func:`list_cells`, the objects' ``repr``)
masks the password, as ``nova-manage cell_v2 list_cells`` does.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from urllib.parse import quote

from ...broker import configured_url
from ...display import table
from ...transport_url import mask_url, parse_transport_url
from .context import CELL0, make_context
from .db import Database
from .objects import CELL0_UUID, CellMapping

#: The name of the cell of a single-cell cloud, as ``nova-manage cell_v2 simple_cell_setup``.
CELL1_NAME = "cell1"


def cell_uuid(name: str) -> str:
    """A cell's uuid, derived from its name so that every process of a lab agrees on it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"course:nova:{name}"))


#: cell1's uuid.
CELL1_UUID = cell_uuid(CELL1_NAME)


def cell_db_name(name: str) -> str:
    """The cell database of cell ``name`` (DevStack's ``nova_cell1``)."""
    return f"nova_{name}"


def cell_url(url: str | None, name: str) -> str:
    """The transport_url of cell ``name``: the same broker and credentials as ``url``,
    in the virtual host ``name`` (``<vhost>-<name>`` when ``url`` names a vhost other
    than ``/``, so that two labs on one RabbitMQ keep apart)."""
    url = configured_url(url)
    vhost = parse_transport_url(url).vhost  # refuses a malformed URL, in one sentence
    scheme, _sep, rest = url.partition("://")
    at = rest.rfind("@")
    cut = next((i for i in range(at + 1, len(rest)) if rest[i] in "/?#"), len(rest))
    authority, tail = rest[:cut], rest[cut:]
    query = tail.partition("?")[2]
    cell_vhost = name if vhost == "/" else f"{vhost}-{name}"
    return f"{scheme}://{authority}/{quote(cell_vhost, safe='')}" + (f"?{query}" if query
                                                                      else "")


def setup_cells(db: Database, url: str | None = None,
                cells: Mapping[str, str] | None = None) -> None:
    """``nova-manage cell_v2 map_cell0``, then ``create_cell`` for each of ``cells``
    (name -> transport_url; default: cell1 on ``url``).  Idempotent."""
    ctxt = make_context(db, is_admin=True)
    CellMapping(ctxt, uuid=CELL0_UUID, name="cell0", transport_url="none:///",
                database_connection=f"sqlite:///{db.path}#{CELL0}", disabled=False).create()
    for name, transport_url in (cells or {CELL1_NAME: configured_url(url)}).items():
        CellMapping(ctxt, uuid=cell_uuid(name), name=name, transport_url=transport_url,
                    database_connection=f"sqlite:///{db.path}#{cell_db_name(name)}",
                    disabled=False).create()


def list_cells(db: Database) -> str:
    """``nova-manage cell_v2 list_cells``: one line per cell, passwords masked."""
    mappings = sorted(CellMapping.get_all(make_context(db, is_admin=True)),
                      key=lambda cell: cell.name or "")
    rows = [["Name", "UUID", "Transport URL", "Database Connection", "Disabled"]]
    rows += [[cell.name or "", cell.uuid, mask_url(cell.transport_url or ""),
              mask_url(cell.database_connection or ""), cell.disabled] for cell in mappings]
    return table(rows)
