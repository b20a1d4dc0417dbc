"""Lesson 05's checks: each solution passes on a real lab, typical wrong answers get their
own message, and no feedback shows a password.  The lab is the notebook's: a lab on the
embedded broker (exercises 1 and 2 read only the answer; exercise 3 restarts the lab's Nova
with the learner's notification settings, as the notebook says)."""

from __future__ import annotations

import pytest
from exercise_helpers import rendered, says

import course
from course.exercises import CORRECT, NOT_ATTEMPTED, NOT_YET
from course.exercises import lesson05 as ex
from course.openstack.nova import Timings


def solved(exercise, name: str):
    """The value the solution code gives ``name``."""
    scope: dict = {}
    exec(exercise.solution_code, scope)
    return scope[name]


HOSTS = ("controller1", "controller2", "controller3")


def url(hosts=HOSTS, user="nova", password="NOVA_PASS", port=":5672", sep=",",
        tail="//nova", scheme="rabbit"):
    return f"{scheme}://" + sep.join(f"{user}:{password}@{h}{port}" for h in hosts) + tail


# -- exercise 1 -----------------------------------------------------------------------------


def test_three_controllers_solution_and_equivalents():
    assert says(ex.q1.check(solved(ex.q1, "url")), CORRECT, "the vhost `/nova`",
                "rabbit://nova:****@controller1:5672,")
    assert says(ex.q1.check(url(tail="/%2Fnova")), CORRECT)
    assert says(ex.q1.check(url(port="")), CORRECT)  # 5672 is the default
    assert says(ex.q1.check(url(hosts=HOSTS[::-1])), CORRECT)
    assert says(ex.q1.check(...), NOT_ATTEMPTED)


@pytest.mark.parametrize(("answer", "fragments"), [
    (url(tail="/nova"), ["Right: the driver is `rabbit`", "The vhost is `nova`, not `/nova`",
                         "`//nova`"]),
    (url(tail="/"), ["The vhost is `/`, RabbitMQ's default"]),
    (url(tail=""), ["The vhost is `/`, RabbitMQ's default"]),
    (url(tail="/cell1"), ["The vhost is `cell1`"]),
    (url(scheme="amqp"), ["`amqp://` is kombu's name", "Right: the vhost is `/nova`"]),
    (url(scheme="kafka"), ["Unknown driver", "kafka"]),
    (url(sep=";"), ["separated by `;`", "commas"]),
    (url(sep=", "), ["holds a space"]),
    (url(user="openstack"), ["`controller1`, `controller2`, `controller3`: the user is "
                             "`openstack`, not `nova`"]),
    (url(password="RABBIT_PASS"), ["`controller2`, `controller3`: the password is not"]),
    (url(port=":5671"), ["port 5671, not 5672", "TLS"]),
    (url(hosts=HOSTS[:2]), ["The hosts are `controller1`, `controller2`"]),
    (url(hosts=("controller",)), ["The hosts are `controller`"]),
    ("rabbit://nova:NOVA_PASS@controller1:5672,controller2:5672,controller3:5672//nova",
     ["`controller2`, `controller3`: no `user:password@`", "Right: the three controllers"]),
    ("rabbit://nova:NOVA_PASS@controller1:5672,,controller3:5672//nova", ["cannot be read",
                                                                           "Host 2"]),
    ("nova:NOVA_PASS@controller1:5672//nova", ["cannot be read", "://"]),
    (["rabbit://"], ["in quotes"]),
])
def test_three_controllers_wrong_parts(answer, fragments):
    result = ex.q1.check(answer)
    assert says(result, NOT_YET, *fragments), rendered(result)
    assert "NOVA_PASS" not in rendered(result)


# -- exercise 2 -----------------------------------------------------------------------------

GOOD_URL = "transport_url = rabbit://nova:N0va%40pass@controller:5672//nova"


def repaired(**changes: str) -> str:
    """The solution's nova.conf, with some of its lines changed back."""
    text = solved(ex.q2, "fixed_conf")
    for old, new in changes.items():
        text = text.replace({"url": GOOD_URL}.get(old, old), new)
    return text


def test_repair_solution():
    assert says(ex.q2.check(solved(ex.q2, "fixed_conf")), CORRECT, "vhost `/nova`",
                "rabbit://nova:****@controller:5672//nova")
    assert says(ex.q2.check(...), NOT_ATTEMPTED)
    assert says(ex.q2.check(ex.BROKEN_CONF), NOT_YET, "still the broken nova.conf")


@pytest.mark.parametrize(("answer", "fragments"), [
    (ex.BROKEN_CONF.replace("rabbit_host = controller\n", ""),
     ["`transport_url` is still in [oslo_messaging_rabbit]", "Right: no removed option"]),
    (repaired(url=GOOD_URL + "\nrabbit_host = controller"),
     ["`rabbit_host`: removed from oslo.messaging", "Right: `transport_url` is in [DEFAULT]"]),
    (repaired(url="transport_url = rabbit://nova:N0va@pass@controller:5672//nova"),
     ["The URL cannot be read", "unencoded @", "%40"]),
    (repaired(url="transport_url = rabbit://nova:N0va%40pass@controller:5672/nova"),
     ["which this RabbitMQ does not have", "NOT_ALLOWED", "Right: the password's `@`"]),
    (repaired(url="transport_url = rabbit://nova:N0vapass@controller:5672//nova"),
     ["no longer the one of the broken file"]),
    (repaired(url="transport_url = rabbit://nova:N0va%40pass@ctl:5672//nova"),
     ["Keep one host"]),
    (repaired(url="my_ip = 10.0.0.12"), ["[DEFAULT] has no `transport_url`"]),
    (repaired(**{"driver = messagingv2": "driver = messagingv3"}),
     ["Also: line", "`messagingv3` is no notification driver"]),
    ("transport_url = x\n", ["oslo.config cannot read", "before any [section]"]),
    (42, ["in quotes"]),
])
def test_repair_wrong_parts(answer, fragments):
    result = ex.q2.check(answer)
    assert says(result, NOT_YET, *fragments), rendered(result)
    assert "N0va@pass" not in rendered(result) and "N0va%40pass" not in rendered(result)


# -- exercise 3 -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab():
    """As the notebook: a lab whose Nova runs without notifications."""
    lab = course.Lab()
    lab.nova(computes=["compute1"], timings=Timings.zero()).boot("vm1").wait()
    yield lab
    lab.stop()


def conf(driver="messagingv2", fmt="both", topics=None):
    text = f"[oslo_messaging_notifications]\ndriver = {driver}\n"
    if topics is not None:
        text += f"topics = {topics}\n"
    return text + (f"\n[notifications]\nnotification_format = {fmt}\n" if fmt else "")


def test_notifications_solution_on_the_broker(lab):
    result = ex.q3.check(solved(ex.q3, "notify_conf"))
    assert says(result, CORRECT, "`notifications.info`, `versioned_notifications.info`")
    queues = lab.topology().queues
    assert queues["notifications.info"].messages >= 2  # left for the learner to see
    assert [s.name for s in lab.clouds[-1].servers] == ["check-vm"]
    assert says(ex.q3.check(...), NOT_ATTEMPTED)


@pytest.mark.parametrize(("answer", "fragments"), [
    (conf(fmt=None), ["No versioned notification was sent", "`unversioned` (Nova's default)",
                      "lab.topology().table()"]),
    (conf(fmt="versioned"), ["No legacy notification was sent"]),
    (conf(topics="notifications,billing"), ["`billing.info` also received"]),
    (conf(driver="noop"), ["No queue would receive anything", "`noop`"]),
    ("[notifications]\nnotification_format = both\n", ["No queue would receive anything",
                                                        "no driver is set"]),
    (conf(driver="messagingv2, log"), ["is no notification driver", "No queue would"]),
    ("[oslo_messaging_notifications]\ndriver = messagingv2\nnotification_format = both\n",
     ["Also: line 3", "[notifications]", "No versioned notification was sent"]),
    ("driver = messagingv2", ["oslo.config cannot read"]),
    (None, ["in quotes"]),
])
def test_notifications_wrong_settings(lab, answer, fragments):
    result = ex.q3.check(answer)
    assert says(result, NOT_YET, *fragments), rendered(result)


def test_notifications_without_a_lab():
    current = course.Lab.current()
    if current is not None:
        current.stop()
    assert says(ex.q3.check(conf()), NOT_YET, "No lab is running")


#: Every password the English lesson writes in its code cells.
PASSWORDS = ("NOVA_PASS", "N0va@pass", "N0va%40pass", "s3cret", "RABBIT_PASS", "p%40ss", "nova:pw@",
             "nova:secret@")


def test_the_lesson_shows_no_password():
    """Run with its solutions, the lesson prints no password, only `****`; its task shows
    the same broken nova.conf as the check knows."""
    from pathlib import Path

    import nbformat

    from course.bench.lessons import NOTEBOOKS, execute

    path = NOTEBOOKS / "en" / "05-configuration.ipynb"
    text = "\n".join(str(output) for cell in execute(path, solutions=True, quiet=True).outputs
                     for output in cell)
    assert "****" in text
    assert [p for p in PASSWORDS if p in text] == []
    task = "\n".join(c.source for c in nbformat.read(Path(path), as_version=4).cells)
    assert f"```ini\n{ex.BROKEN_CONF}```" in task
