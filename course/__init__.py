"""Helpers of the course "How OpenStack uses RabbitMQ".

``course.broker`` picks the broker (embedded by default, or a RabbitMQ named by a
``transport_url``); ``course.topology`` reads what a broker holds.
"""

from . import broker, topology
from .i18n import get_language, set_language

__all__ = ["broker", "topology", "get_language", "set_language"]
