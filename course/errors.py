"""Errors the course raises on purpose, shown to learners as one clear sentence.

IPython calls ``_render_traceback_`` when an exception defines it, so in a
notebook these errors print their message only, not a stack trace from the
course's own code.
"""

from __future__ import annotations


class CourseError(Exception):
    """Base class: a problem the learner can fix, with a message that says how."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class TransportURLError(CourseError, ValueError):
    """A ``transport_url`` that cannot be understood; the message names the bad part."""


class BrokerUnreachable(CourseError, ConnectionError):
    """A configured broker did not answer; never replaced silently by another broker."""


class BrokerRefused(BrokerUnreachable):
    """The broker answered and refused the login (403) or the vhost (530): py-amqp counts
    neither as recoverable, so kombu and oslo do not try again, and neither does the course."""


class NovaConfError(CourseError, ValueError):
    """A nova.conf text oslo.config would refuse to read; the message names the line."""


class ServiceStopped(CourseError, RuntimeError):
    """An operation that needs a running service, asked of a stopped one."""
