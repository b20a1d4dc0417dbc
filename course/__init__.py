"""Helpers of the course "How OpenStack uses RabbitMQ".

``course.broker`` picks the broker (embedded by default, or a RabbitMQ named by a
``transport_url``); ``course.rpc`` is oslo.messaging's RPC on it; ``course.Lab``
starts simulated OpenStack services on it; ``course.topology`` and
``course.trace`` tell what happened.
"""

from . import broker, rpc, topology, trace
from .i18n import get_language, notebook_language, set_language
from .lab import Lab

__all__ = ["Lab", "broker", "get_language", "notebook_language", "rpc", "set_language",
           "topology", "trace"]
