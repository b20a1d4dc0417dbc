"""Read the messaging settings of a ``nova.conf`` the way oslo.config reads them.

Why: oslo.config ignores, without a word, an option written in the wrong section or one
that was removed years ago.  A nova.conf with ``transport_url`` under
``[oslo_messaging_rabbit]``, or with the old ``rabbit_host``, starts, and Nova connects
to ``rabbit://`` (guest on localhost) instead.  This module reads the INI text by
oslo.config's rules (``oslo_config/iniparser.py``: ``[section]`` lines, ``key = value``
or ``key: value``, ``#`` and ``;`` comments at the start of a line only, indented
continuation lines, the last value of a repeated option winning except for multi-valued
ones) and says, one sentence each, what Nova would ignore or refuse.  It reads the
URL with :func:`~course.transport_url.parse_transport_url` and knows the options of
``[oslo_messaging_rabbit]`` from :data:`~course.transport_url.RABBIT_OPTIONS`.

    conf = read_nova_conf(text)
    print(conf.explain())                         # every setting, passwords as ****
    cloud = lab.nova(notifications=conf.notifications)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from .errors import NovaConfError, TransportURLError
from .i18n import N_, _
from .openstack.nova.conf import Notifications
from .transport_url import RABBIT_OPTIONS, TransportURL, parse_transport_url

DEFAULT, RABBIT = "DEFAULT", "oslo_messaging_rabbit"
NOTIFY, NOVA_NOTIFY = "oslo_messaging_notifications", "notifications"

#: Where each messaging option is read (oslo.messaging's ``transport.py``, ``rpc/client.py``,
#: ``notify/notifier.py``, ``_drivers/impl_rabbit.py`` and ``amqp.py``; Nova's
#: ``nova/conf/notifications.py``).
HOMES: dict[str, tuple[str, ...]] = {
    "transport_url": (DEFAULT, NOTIFY), "control_exchange": (DEFAULT,),
    "rpc_response_timeout": (DEFAULT,),
    **{name: (RABBIT,) for name in RABBIT_OPTIONS},
    "driver": (NOTIFY,), "topics": (NOTIFY,), "retry": (NOTIFY,),
    "notification_format": (NOVA_NOTIFY,), "versioned_notifications_topics": (NOVA_NOTIFY,),
    "notify_on_state_change": (NOVA_NOTIFY,), "default_level": (NOVA_NOTIFY,),
    "bdms_in_notifications": (NOVA_NOTIFY,), "include_share_mapping": (NOVA_NOTIFY,),
}
#: The sections whose every option this module knows.
KNOWN = {section: {name for name, homes in HOMES.items() if section in homes}
         for section in (RABBIT, NOTIFY, NOVA_NOTIFY)}
_URL_PARTS = N_("`transport_url` (user, password, host and port, and vhost in one URL)")
#: Options oslo.messaging removed, with what replaced them and the release that removed them
#: (commit ``b0d3bfce``; release notes ``rabbitmq-opts-cleanup`` and
#: ``remove-heartbeat-in-pthread-option``).
REMOVED: dict[str, tuple[str | None, str]] = {
    **{name: (_URL_PARTS, "9.0.0 (Stein)") for name in (
        "rabbit_host", "rabbit_port", "rabbit_hosts", "rabbit_userid", "rabbit_password",
        "rabbit_virtual_host")},
    "rabbit_use_ssl": ("`ssl`", "16.0.0"),
    "kombu_ssl_version": ("`ssl_version`", "16.0.0"),
    "kombu_ssl_keyfile": ("`ssl_key_file`", "16.0.0"),
    "kombu_ssl_certfile": ("`ssl_cert_file`", "16.0.0"),
    "kombu_ssl_ca_certs": ("`ssl_ca_file`", "16.0.0"),
    "heartbeat_in_pthread": (None, "18.0.0 (2026.2)"),  # nothing replaces it
}
#: ``[oslo_messaging_notifications] driver`` names (``setup.cfg`` entry points).
DRIVERS = ("messaging", "messagingv2", "routing", "log", "test", "noop")
FORMATS = ("versioned", "unversioned", "both")


@dataclass(frozen=True)
class Finding:
    """One thing Nova would ignore or refuse: an English msgid, translated when shown."""

    line: int
    msgid: str
    fields: dict[str, Any] = field(default_factory=dict)
    option: str = ""

    def __str__(self) -> str:
        text = _(self.msgid, **{k: _(v) if k == "instead" else v for k, v in self.fields.items()})
        return _("line {line}: {text}", line=self.line, text=text)


@dataclass
class NovaConf:
    """A nova.conf's options: ``{section: {option: [(line, value), ...]}}``."""

    options: dict[str, dict[str, list[tuple[int, str]]]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<NovaConf sections={list(self.options)}>"  # values may hold passwords

    def value(self, section: str, option: str) -> str | None:
        """The value oslo.config uses: the last one given."""
        given = self.options.get(section, {}).get(option)
        return given[-1][1] if given else None

    def _list(self, section: str, option: str, default: tuple[str, ...]) -> tuple[str, ...]:
        text = self.value(section, option)  # a ListOpt: one line, split on commas
        return default if text is None else tuple(p.strip() for p in text.split(",") if p.strip())

    @property
    def transport_url(self) -> TransportURL:
        """``[DEFAULT] transport_url`` read as oslo.messaging would; ``rabbit://`` (guest on
        localhost) when it is missing.  A malformed URL raises ``TransportURLError``."""
        return parse_transport_url(self.value(DEFAULT, "transport_url") or "rabbit://")

    @property
    def notifications(self) -> Notifications:
        """What Nova's notifiers get: pass it to ``lab.nova(notifications=...)``."""
        drivers = tuple(v for _line, v in self.options.get(NOTIFY, {}).get("driver", []))
        return Notifications(
            driver=drivers, topics=self._list(NOTIFY, "topics", ("notifications",)),
            notification_format=self.value(NOVA_NOTIFY, "notification_format") or "unversioned",
            versioned_topics=self._list(NOVA_NOTIFY, "versioned_notifications_topics",
                                        ("versioned_notifications",)))

    def findings(self) -> list[Finding]:
        """What Nova would ignore or refuse, in the file's order."""
        found = []
        for section, options in self.options.items():
            for option, given in options.items():
                found += self._judge(section, option, given[-1][0], given)
        return sorted(found, key=lambda f: f.line)

    def _judge(self, section: str, option: str, line: int,
               given: list[tuple[int, str]]) -> list[Finding]:
        if option in REMOVED:
            instead, release = REMOVED[option]
            if instead is None:
                return [Finding(line, N_("`{option}` was removed in oslo.messaging {release}: "
                                         "Nova ignores it; remove the line."),
                                {"option": option, "release": release}, option)]
            return [Finding(line, N_("`{option}` was removed in oslo.messaging {release}: "
                                     "Nova ignores it. Use {instead} instead."),
                            {"option": option, "release": release, "instead": instead},
                            option)]
        homes = HOMES.get(option)
        if homes and section not in homes:
            return [Finding(line, N_("`{option}` is not read in [{section}]: Nova ignores it "
                                     "there. It belongs in {homes}."),
                            {"option": option, "section": section,
                             "homes": _(" or ").join(f"[{h}]" for h in homes)}, option)]
        if section in KNOWN and option not in KNOWN[section]:
            close = difflib.get_close_matches(option, KNOWN[section], n=1)
            if close:
                return [Finding(line, N_("[{section}] has no option `{option}`: Nova ignores "
                                         "it. Did you mean `{close}`?"),
                                {"section": section, "option": option, "close": close[0]},
                                option)]
            return [Finding(line, N_("[{section}] has no option `{option}`: Nova ignores it."),
                            {"section": section, "option": option}, option)]
        if option == "transport_url":
            return self._judge_url(line, given[-1][1])
        if section == NOTIFY and option == "driver":
            return [Finding(at, N_("`{driver}` is no notification driver (one name per "
                                   "`driver =` line: {drivers}): nothing is sent through it."),
                            {"driver": value, "drivers": ", ".join(DRIVERS)}, option)
                    for at, value in given if value not in DRIVERS]
        if option == "notification_format" and given[-1][1] not in FORMATS:
            return [Finding(line, N_("`notification_format` must be one of {choices}: Nova "
                                     "refuses to start with `{value}`."),
                            {"choices": ", ".join(FORMATS), "value": given[-1][1]}, option)]
        return []

    @staticmethod
    def _judge_url(line: int, text: str) -> list[Finding]:
        try:
            url = parse_transport_url(text)
        except TransportURLError as error:
            return [Finding(line, N_("The transport_url cannot be read: {error}"),
                            {"error": str(error)}, "transport_url")]
        return [Finding(line, N_("transport_url: {warning}"), {"warning": w}, "transport_url")
                for w in url.warnings]

    def explain(self) -> str:
        """The messaging settings Nova would use, one per line, then what it would ignore;
        passwords as ``****``."""
        lines = []
        try:
            url = str(self.transport_url)
        except TransportURLError as error:
            lines.append(_("[DEFAULT] transport_url: unreadable ({error})", error=str(error)))
        else:
            lines.append(f"[DEFAULT] transport_url = {url}" if self.value(
                DEFAULT, "transport_url") else _("[DEFAULT] transport_url: not set, so "
                                                 "rabbit:// (guest on localhost:5672)"))
        for option in sorted(self.options.get(RABBIT, {})):
            if option in RABBIT_OPTIONS:
                lines.append(f"[{RABBIT}] {option} = {self.value(RABBIT, option)}")
        notifications = self.notifications
        drivers = ", ".join(notifications.driver) or _("(none: nothing is sent)")
        lines.append(f"[{NOTIFY}] driver = {drivers}")
        lines.append(f"[{NOTIFY}] topics = {', '.join(notifications.topics)}")
        lines.append(f"[{NOVA_NOTIFY}] notification_format = "
                     f"{notifications.notification_format}")
        lines += [_("ignored or refused, {finding}", finding=str(f)) for f in self.findings()]
        return "\n".join(lines)


def read_nova_conf(text: str) -> NovaConf:
    """The options of a nova.conf text, or a ``NovaConfError`` where oslo.config would stop
    reading the file (the message names the line)."""
    if not isinstance(text, str):
        raise NovaConfError(_("A nova.conf is a text (a string in quotes), not {kind}.",
                              kind=type(text).__name__))
    conf = NovaConf()
    section: str | None = None
    key: str | None = None
    value: list[str] = []
    start = 0

    def flush() -> None:
        if key is not None:
            conf.options[section].setdefault(key, []).append((start, "\n".join(value)))

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line:
            flush()
            key = None
            continue
        if line.startswith((" ", "\t")):
            if key is None:
                raise _error(number, N_("an indented line continues no option"))
            value.append(line.lstrip())
            continue
        flush()
        key = None
        if line.startswith("["):
            if not line.endswith("]") or len(line) <= 2:
                raise _error(number, N_("a section is written [name]"))
            name = line[1:-1]
            section = name if name == DEFAULT else name.lower()  # as oslo.config
            conf.options.setdefault(section, {})
        elif line.startswith(("#", ";")):
            continue
        elif section is None:
            raise _error(number, N_("an option comes before any [section]"))
        else:
            equal, colon = line.find("="), line.find(":")
            if equal < 0 and colon < 0:
                raise _error(number, N_("no = between the option and its value"))
            cut = equal if colon < 0 or 0 <= equal < colon else colon
            key, first = line[:cut].strip(), line[cut + 1:].strip()
            if not key:
                raise _error(number, N_("no option name before the ="))
            if first and first[0] == first[-1] and first.startswith(('"', "'")):
                first = first[1:-1]
            value, start = [first], number
    flush()
    return conf


def _error(number: int, why: str) -> NovaConfError:
    return NovaConfError(_("oslo.config cannot read this nova.conf, line {line}: {why}.",
                           line=number, why=_(why)))
