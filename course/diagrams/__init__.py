"""Pictures of what really happened: topologies from a snapshot, message flows from the trace.

Nothing here is a hard-coded drawing.  A **topology diagram** reads a
:class:`~course.topology.Topology` (and, when given, the trace: a snapshot alone
does not know who publishes or who consumed); a **flow diagram** reads the
hops of a :class:`~course.trace.Trace`.  Both use the visual vocabulary of the
RabbitMQ tutorials, drawn left to right::

    P (publisher) ──▶ X (exchange) ──routing key──▶ queue [ready | unacked | consumers] ──▶ C

Every diagram is a display object, like scikit-learn's ``*Display`` classes:

* in a notebook it shows itself as SVG (``_repr_mimebundle_``), with its text
  rendering as the ``text/plain`` fallback;
* ``.ascii()`` is the same picture for a terminal, ``.source`` its DOT text, and
  ``.model`` what it shows, before any drawing (:class:`TopologyModel`,
  :class:`FlowModel`);
* ``.save("x.svg")`` (or ``.png``, ``.pdf``, ``.dot``, ``.txt``) writes it.

Without Graphviz's ``dot`` program a notebook still runs: the diagram shows its
text rendering under a one-line notice that says how to install Graphviz.

Lessons reach this package through ``lab.topology().diagram()``,
``lab.topology().ascii()`` and ``lab.trace.diagram()``.  Inside: the topology model
(:mod:`.model`, built by :mod:`.build`, :mod:`.grouping` for big or several brokers),
the flow model (:mod:`.flow`), their Graphviz renderings (:mod:`.graph`,
:mod:`.flow_graph`) and text renderings (:mod:`.text`), put together in :mod:`.draw`.
"""

from ..display import Text
from .base import Diagram, GraphvizMissing, hops_of, install_notice
from .build import topology_model
from .draw import FlowDiagram, TopologyDiagram, flow_diagram, topology_diagram
from .flow import FLOW_LIMIT, FlowArrow, FlowModel, flow_model, hop_texts
from .grouping import GROUP_THRESHOLD
from .model import Arrow, Cluster, Edge, Node, TopologyModel
from .style import DIM, HIGHLIGHT, KIND_STYLES, QUEUE_FILL_WAITING, kind_meaning

__all__ = [
    "DIM", "FLOW_LIMIT", "GROUP_THRESHOLD", "HIGHLIGHT", "KIND_STYLES", "QUEUE_FILL_WAITING",
    "Arrow", "Cluster", "Diagram", "Edge", "FlowArrow", "FlowDiagram", "FlowModel",
    "GraphvizMissing", "Node", "Text", "TopologyDiagram", "TopologyModel", "flow_diagram",
    "flow_model", "hop_texts", "hops_of", "install_notice", "kind_meaning", "topology_diagram",
    "topology_model",
]
