"""Lesson 05, configuration: write a transport_url, repair a nova.conf, configure
notifications.

* ``q1`` parses the learner's URL as oslo.messaging does and compares each part (driver,
  every host's user, password and port, the separator, the vhost) with the task's.
* ``q2`` reads the learner's repaired nova.conf as oslo.config would
  (:mod:`course.nova_conf`) and says, mistake by mistake, which of the four is fixed.
* ``q3`` restarts the lab's Nova with the learner's notification settings, boots one VM,
  and compares the queues its notifications reached (trace and broker) with the task's.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import NovaConfError, TransportURLError
from ...i18n import N_
from ...nova_conf import DEFAULT, RABBIT, REMOVED, read_nova_conf
from ...transport_url import parse_transport_url
from .. import evidence
from ..core import Exercise, ExerciseSet, NotYet
from ..result import Joined, Message
from . import runs
from .questions import quiz

CONTROLLERS = ("controller1", "controller2", "controller3")
USER, PASSWORD, PORT, VHOST = "nova", "NOVA_PASS", 5672, "/nova"


def _vhost_wrong(virtual_host: str | None) -> Message:
    if virtual_host == VHOST.lstrip("/"):
        return Message(N_("The vhost is `nova`, not `/nova`: oslo.messaging drops the `/` "
                          "that ends the hosts and keeps the rest. Write `//nova` (or "
                          "`/%2Fnova`) after the hosts."))
    if not virtual_host or virtual_host == "/":
        return Message(N_("The vhost is `/`, RabbitMQ's default, not `/nova`: write `//nova` "
                          "after the hosts."))
    return Message(N_("The vhost is `{vhost}`, not `/nova`: write `//nova` after the hosts."),
                   {"vhost": virtual_host})


# -- exercise 1 ---------------------------------------------------------------------------


class ThreeControllers(Exercise):
    title = N_("A transport_url for three controllers")
    call = "check(url)"
    expects = N_("Write the URL as a string in quotes, e.g. `\"rabbit://user:pass@host:5672/\"`.")
    hints = (
        N_("Start from the install guide's `rabbit://openstack:RABBIT_PASS@controller:5672/`: "
           "the driver, then `user:password@host:port` for each controller, separated by "
           "commas, then a `/` and the vhost."),
        N_("Each of the three hosts carries its own `nova:NOVA_PASS@`. The vhost is named "
           "`/nova`, with its slash: after the `/` that ends the hosts comes `/nova`, so the "
           "URL ends with `5672//nova`."),
    )
    solution_code = ('url = ("rabbit://nova:NOVA_PASS@controller1:5672,"\n'
                     '       "nova:NOVA_PASS@controller2:5672,"\n'
                     '       "nova:NOVA_PASS@controller3:5672//nova")')
    explanation = N_("One URL lists every broker node, each with its credentials, separated by "
                     "commas; a client connects to one and fails over to the next. The vhost "
                     "is what follows the `/` that ends the hosts, %-decoded: `//nova` and "
                     "`/%2Fnova` both name `/nova`, while `/nova` names `nova`.")
    success = N_("oslo.messaging would read the same three hosts, user `nova` on port 5672, "
                 "and the vhost `/nova`: `{url}`.")

    def verify(self, url: Any) -> dict[str, str]:
        text = evidence.text(url, "url", "\"rabbit://user:pass@host:5672/\"")
        hosts_part = text.partition("://")[2].split("/", 1)[0]
        if ";" in hosts_part:
            raise NotYet(N_("The hosts are separated by `;`: a transport_url separates them "
                            "with commas. (`;` is how oslo.messaging joins them for kombu, "
                            "inside the driver.)"))
        if re.search(r"\s", text):
            raise NotYet(N_("The URL holds a space: a transport_url has none, not even after "
                            "the commas between hosts."))
        try:
            parsed = parse_transport_url(text)
        except TransportURLError as error:
            raise NotYet(N_("The URL cannot be read: {error} Revisit the section on several "
                            "hosts and percent-encoding."), error=str(error)) from None
        right: list[Message] = []
        wrong: list[Message] = []
        if parsed.driver == "rabbit":
            right.append(Message(N_("Right: the driver is `rabbit`.")))
        elif parsed.driver == "amqp":
            wrong.append(Message(N_("`amqp://` is kombu's name; OpenStack's driver is "
                                    "`rabbit://`.")))
        else:
            wrong.append(Message(N_("The driver is `{driver}`; a deployment's RabbitMQ is "
                                    "`rabbit://`."), {"driver": parsed.driver}))
        names = [h.hostname for h in parsed.hosts]
        if sorted(names) == sorted(CONTROLLERS):
            right.append(Message(N_("Right: the three controllers, separated by commas.")))
        else:
            wanted = evidence.codes(CONTROLLERS)
            wrong.append(Message(N_("The hosts are {given}; the task has {wanted}, one each, "
                                    "separated by commas."),
                                 {"given": evidence.codes(names), "wanted": wanted})
                         if names else
                         Message(N_("The URL names no host; the task has {wanted}, one each, "
                                    "separated by commas."), {"wanted": wanted}))
        host_wrong = self._hosts(parsed.hosts)
        if parsed.hosts and not host_wrong:
            right.append(Message(N_("Right: each host has user `nova`, its password and port "
                                    "5672.")))
        wrong += host_wrong
        if parsed.virtual_host == VHOST:
            right.append(Message(N_("Right: the vhost is `/nova`.")))
        else:
            wrong.append(_vhost_wrong(parsed.virtual_host))
        if wrong:
            raise NotYet(N_("{sentences} Revisit the section on several hosts and the vhost."),
                         sentences=Joined(tuple(right + wrong)))
        return {"url": str(parsed)}

    @staticmethod
    def _hosts(hosts: tuple) -> list[Message]:
        """What is wrong with the hosts' credentials and ports, each wrong thing once,
        with the hosts it concerns."""
        found: dict[tuple[str, str], list[str]] = {}
        for host in hosts:
            if host.username is None or host.password is None:
                found.setdefault(("bare", ""), []).append(host.hostname)
                continue
            if host.username != USER:
                found.setdefault(("user", host.username), []).append(host.hostname)
            if host.password != PASSWORD:
                found.setdefault(("password", ""), []).append(host.hostname)
            if host.port != PORT:
                found.setdefault(("port", str(host.port)), []).append(host.hostname)
        texts = {
            "bare": N_("{hosts}: no `user:password@`; every host carries its own credentials."),
            "user": N_("{hosts}: the user is `{value}`, not `nova`."),
            "password": N_("{hosts}: the password is not the one the task gives."),
            "port": N_("{hosts}: port {value}, not 5672 (5671 is AMQP over TLS, 15672 the "
                       "management UI)."),
        }
        return [Message(texts[kind], {"hosts": evidence.codes(names), "value": value})
                for (kind, value), names in found.items()]


# -- exercise 2 ---------------------------------------------------------------------------

BROKEN_CONF = """\
[DEFAULT]
my_ip = 10.0.0.11

[oslo_messaging_rabbit]
transport_url = rabbit://nova:N0va@pass@controller:5672/nova
rabbit_host = controller
heartbeat_timeout_threshold = 60

[oslo_messaging_notifications]
driver = messagingv2
"""
CONF_PASSWORD = "N0va@pass"


class RepairTheConf(Exercise):
    title = N_("Repair a broken nova.conf")
    call = "check(fixed_conf)"
    expects = N_("Write the repaired nova.conf as a string in triple quotes, "
                 "`\"\"\"[DEFAULT] ...\"\"\"`.")
    hints = (
        N_("Four things are wrong: where the URL is, an option oslo.messaging removed, a "
           "character of the password, and the vhost (compare with `rabbitmqctl "
           "list_vhosts`). `print(read_nova_conf(fixed_conf).explain())` reads your version "
           "as Nova would."),
        N_("Move `transport_url` to `[DEFAULT]`, delete `rabbit_host`, write the password's "
           "`@` as `%40` (`N0va%40pass`), and end the URL with `//nova`: "
           "`transport_url = rabbit://nova:N0va%40pass@controller:5672//nova`."),
    )
    solution_code = ('fixed_conf = """\\\n[DEFAULT]\nmy_ip = 10.0.0.11\n'
                     'transport_url = rabbit://nova:N0va%40pass@controller:5672//nova\n\n'
                     '[oslo_messaging_rabbit]\nheartbeat_timeout_threshold = 60\n\n'
                     '[oslo_messaging_notifications]\ndriver = messagingv2\n"""')
    explanation = N_("oslo.messaging reads `transport_url` in `[DEFAULT]` only (or in "
                     "`[oslo_messaging_notifications]`, for notifications alone); anywhere "
                     "else, and for removed options such as `rabbit_host`, oslo.config says "
                     "nothing and Nova uses `rabbit://`. An `@` in a password ends the "
                     "credentials, so it is written `%40`; and the vhost `/nova` is written "
                     "`//nova`.")
    success = N_("Nova would connect as `nova` to `controller:5672`, vhost `/nova`, and "
                 "ignore nothing: `{url}`.")

    def verify(self, fixed_conf: Any) -> dict[str, str]:
        text = evidence.text(fixed_conf, "fixed_conf", "\"\"\"[DEFAULT] ...\"\"\"")
        if text == BROKEN_CONF.strip():
            raise NotYet(N_("This is still the broken nova.conf: change it, then check "
                            "again."))
        try:
            conf = read_nova_conf(text)
        except NovaConfError as error:
            raise NotYet(N_("{error} Revisit the nova.conf above."), error=str(error)) from None
        right: list[Message] = []
        wrong: list[Message] = []
        if "transport_url" in conf.options.get(RABBIT, {}):
            wrong.append(Message(N_("`transport_url` is still in [oslo_messaging_rabbit], "
                                    "where Nova ignores it.")))
        elif conf.value(DEFAULT, "transport_url") is None:
            wrong.append(Message(N_("[DEFAULT] has no `transport_url`: Nova would connect to "
                                    "`rabbit://`, guest on localhost.")))
        else:
            right.append(Message(N_("Right: `transport_url` is in [DEFAULT].")))
        removed = sorted({f.option for f in conf.findings() if f.option in REMOVED})
        if removed:
            wrong.append(Message(N_("{options}: removed from oslo.messaging, ignored by Nova; "
                                    "delete it."), {"options": evidence.codes(removed)}))
        else:
            right.append(Message(N_("Right: no removed option is left.")))
        wrong += self._url(conf, right)
        handled = {"transport_url", *REMOVED}
        wrong += [Message(N_("Also: {finding}"), {"finding": str(f)})
                  for f in conf.findings() if f.option not in handled]
        if wrong:
            raise NotYet(N_("{sentences} Revisit the sections on options and "
                            "percent-encoding."), sentences=Joined(tuple(right + wrong)))
        return {"url": str(conf.transport_url)}

    @staticmethod
    def _url(conf: Any, right: list[Message]) -> list[Message]:
        if conf.value(DEFAULT, "transport_url") is None:
            return []
        try:
            url = conf.transport_url
        except TransportURLError as error:
            return [Message(N_("The URL cannot be read: {error}"), {"error": str(error)})]
        wrong = []
        hosts = [(h.hostname, h.port, h.username) for h in url.hosts]
        if hosts != [("controller", PORT, USER)]:
            wrong.append(Message(N_("Keep one host, `nova@controller:5672`, as in the broken "
                                    "file.")))
        elif url.hosts[0].password != CONF_PASSWORD:
            wrong.append(Message(N_("The password is no longer the one of the broken file: "
                                    "keep it, writing only its `@` as `%40`.")))
        else:
            right.append(Message(N_("Right: the password's `@` is written `%40`.")))
        if url.virtual_host == VHOST:
            right.append(Message(N_("Right: the vhost is `/nova`, which exists.")))
        elif url.virtual_host == "nova":
            wrong.append(Message(N_("The vhost is `nova`, which this RabbitMQ does not have "
                                    "(`rabbitmqctl list_vhosts` shows `/` and `/nova`): "
                                    "RabbitMQ would refuse with NOT_ALLOWED. Write `//nova`.")))
        else:
            wrong.append(_vhost_wrong(url.virtual_host))
        return wrong


# -- exercise 3 ---------------------------------------------------------------------------

WANTED = ("notifications.info", "versioned_notifications.info")


class ConfigureNotifications(Exercise):
    title = N_("Configure Nova's notifications")
    call = "check(notify_conf)"
    expects = N_("Write the two sections as a string in triple quotes, "
                 "`\"\"\"[oslo_messaging_notifications] ...\"\"\"`.")
    hints = (
        N_("Two sections decide it: `[oslo_messaging_notifications]` (`driver`, `topics`) "
           "says whether and where oslo.messaging publishes, Nova's `[notifications]` "
           "(`notification_format`) which families it sends."),
        N_("`driver = messagingv2` in `[oslo_messaging_notifications]`, and "
           "`notification_format = both` in `[notifications]`; leave `topics` at its default "
           "`notifications`."),
    )
    solution_code = ('notify_conf = """\\\n[oslo_messaging_notifications]\n'
                     'driver = messagingv2\n\n[notifications]\nnotification_format = both\n"""')
    explanation = N_("With a publishing driver (`messagingv2`), Nova's legacy notifier sends "
                     "to each of `topics` (default `notifications`) and its versioned notifier "
                     "to `versioned_notifications`; `notification_format` chooses which of the "
                     "two runs (`unversioned` by default). The publisher creates each "
                     "`<topic>.<priority>` queue; a successful boot sends only `info`.")
    success = N_("The boot's notifications reached exactly {queues}, and the broker holds "
                 "them there: no consumer has read them yet.")

    def verify(self, notify_conf: Any) -> dict[str, str]:
        text = evidence.text(notify_conf, "notify_conf",
                             "\"\"\"[oslo_messaging_notifications] ...\"\"\"")
        try:
            conf = read_nova_conf(text)
        except NovaConfError as error:
            raise NotYet(N_("{error} Revisit the section on notifications."),
                         error=str(error)) from None
        notes = [Message(N_("Also: {finding}"), {"finding": str(f)}) for f in conf.findings()]
        settings = conf.notifications
        if not settings.senders():
            nothing = (Message(N_("No queue would receive anything: the driver is {drivers}, "
                                  "and only `messaging` or `messagingv2` publish on the bus."),
                               {"drivers": evidence.codes(settings.driver)})
                       if settings.driver else
                       Message(N_("No queue would receive anything: no driver is set, and only "
                                  "`messaging` or `messagingv2` publish on the bus.")))
            raise NotYet(N_("{sentences} Revisit the section on notifications."),
                         sentences=Joined((*notes, nothing)))
        reached = runs.boot_with(settings)
        missing = [q for q in WANTED if q not in reached]
        extra = [q for q in reached if q not in WANTED]
        if not missing and not extra:
            return {"queues": evidence.codes(WANTED)}
        wrong = list(notes)
        fmt = settings.notification_format
        if "versioned_notifications.info" in missing and fmt == "unversioned":
            wrong.append(Message(N_("No versioned notification was sent: "
                                    "`notification_format` is `unversioned` (Nova's "
                                    "default). `both` sends both families.")))
        if "notifications.info" in missing and fmt == "versioned":
            wrong.append(Message(N_("No legacy notification was sent: `notification_format` "
                                    "is `versioned`. `both` sends both families.")))
        if extra:
            wrong.append(Message(N_("{queues} also received the boot's notifications: a "
                                    "queue per topic of `topics` and "
                                    "`versioned_notifications_topics`; keep their defaults."),
                                 {"queues": evidence.codes(extra)}))
        if len(wrong) == len(notes):
            wrong.append(Message(N_("The boot reached {reached}, not {wanted}."),
                                 {"reached": evidence.codes(reached) or Message(N_("no queue")),
                                  "wanted": evidence.codes(WANTED)}))
        raise NotYet(N_("{sentences} The lab's Nova now runs with these settings: "
                        "`lab.topology().table()` shows its queues."),
                     sentences=Joined(tuple(wrong)))


q1, q2, q3 = ThreeControllers(), RepairTheConf(), ConfigureNotifications()
lesson = ExerciseSet(q1, q2, q3, quiz=quiz)
progress = lesson.progress
