"""The step-through player: one message at a time, where it is and what it says.

    player = lab.trace.for_request(vm.request_id).player()
    player                      # Play, Step back / Step forward and a slider in a notebook
    player.next(); player.go(8); player.step

At each step (one hop of the flow) the player shows:

* the topology diagram with the hop's path highlighted (publisher → exchange →
  queue → consumer), drawn from a snapshot of the broker;
* the depth of every queue the flow touched *at that moment*, worked out from the
  trace: a message is ready in a queue from its publish to its delivery; a message
  nobody consumed waits in the queues the broker's bindings route it to;
* the message itself, decoded: the oslo 2.0 envelope opened, the request context
  summarised, secrets masked.

Without widgets (nbval, a terminal, a static HTML export) the player shows itself as
the hop table with the current step marked, the queue depths and the decoded message,
in text and in HTML.  Without Graphviz's ``dot`` the diagram is its text version.

Inside: the state (:mod:`.state`: steps, navigation, depths, message, caption), its
static renderings (:mod:`.views`, where :class:`Player` puts them together) and its
widgets (:mod:`.controls`).
"""

from .state import Steps
from .views import INTERVAL, Player

__all__ = ["INTERVAL", "Player", "Steps"]
