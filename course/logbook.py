"""The log lines of a lab's services, kept for lessons to print: what each process wrote.

Real OpenStack services write their logs to files (``/var/log/nova/nova-compute.log``);
the lab's services run as threads of this kernel and log through Python's ``logging``.
A :class:`LogBook` keeps their lines (INFO and above) and tells who wrote each from its
thread: every thread of a simulated service is named after it (``nova-compute:compute1
report_state``, ``nova-compute:compute1_0`` for an RPC worker).  While a lab runs, its
book takes those lines instead of Python printing the warnings on stderr.

    for line in lab.log.lines("nova-compute:compute1"):
        print(line)        # nova-compute:compute1  WARNING  Lost connection to ...
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass

#: The loggers whose lines a book keeps: the simulated services and their RPC.
LOGGER = "course"
#: A worker thread of ``ThreadPoolExecutor(thread_name_prefix=service)``: ``service_3``.
WORKER = re.compile(r"_\d+$")


@dataclass(frozen=True)
class LogLine:
    """One line of a service's log."""

    time: float  # seconds since the book opened
    service: str  # "nova-compute:compute1", or "" when no service thread wrote it
    level: str  # INFO, WARNING, ERROR
    message: str

    def __str__(self) -> str:
        return f"{self.service or '-':<26} {self.level:<7} {self.message}"


def service_of(thread_name: str) -> str:
    """The simulated process a thread belongs to, from the thread's name ("" if none)."""
    name = WORKER.sub("", thread_name.split(" ", 1)[0])
    return name if ":" in name else ""


class LogBook(logging.Handler):
    """A bounded, thread-safe record of the INFO (and above) lines of the course's loggers,
    from :meth:`open` to :meth:`close`."""

    def __init__(self, limit: int = 5000) -> None:
        super().__init__(logging.INFO)
        self._lines: deque[LogLine] = deque(maxlen=limit)
        self._start = time.monotonic()
        self._book_lock = threading.Lock()
        self._previous_level: int | None = None

    def open(self) -> LogBook:
        logger = logging.getLogger(LOGGER)
        if self not in logger.handlers:
            self._previous_level = logger.level
            if logger.getEffectiveLevel() > logging.INFO:
                logger.setLevel(logging.INFO)
            logger.addHandler(self)
        return self

    def close(self) -> None:
        logger = logging.getLogger(LOGGER)
        if self in logger.handlers:
            logger.removeHandler(self)
            if self._previous_level is not None:
                logger.setLevel(self._previous_level)
        super().close()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage().splitlines()[0] if record.msg else ""
        except Exception:  # a malformed log call must not break the service that made it
            message = str(record.msg)
        line = LogLine(time.monotonic() - self._start, service_of(record.threadName or ""),
                       record.levelname, message)
        with self._book_lock:
            self._lines.append(line)

    def lines(self, service: str | None = None, contains: str = "") -> list[LogLine]:
        """The lines kept, in order: of one ``service`` (``"nova-compute:compute1"``), or
        of every service whose name starts with it (``"nova-compute"``); ``contains``: only
        those with this text."""
        with self._book_lock:
            kept = list(self._lines)
        return [line for line in kept
                if (service is None or line.service == service
                    or line.service.startswith(f"{service}:"))
                and contains in line.message]

    def clear(self) -> None:
        with self._book_lock:
            self._lines.clear()

    def __str__(self) -> str:
        return "\n".join(str(line) for line in self.lines())

    def __repr__(self) -> str:
        return f"<LogBook: {len(self._lines)} lines>"
