"""Lesson 05 on a real RabbitMQ, as on Binder: the English and the French notebook run top
to bottom (starters as they are, then with the solutions) on a fresh vhost of the session's
private node, and say RabbitMQ; and the vhost rule the lesson teaches holds there: `//nova`
reaches the vhost `/nova`, `/nova` asks for `nova`."""

from __future__ import annotations

import uuid

import pytest
from helpers import require

from course.bench.lessons import execute, lessons
from course.errors import BrokerUnreachable
from course.exercises import lesson05 as ex
from course.transport_url import open_connection, parse_transport_url

pytestmark = pytest.mark.rabbitmq

LESSON = "05-configuration.ipynb"
PATHS = [p for language in ("en", "fr") for p in lessons(language) if p.name == LESSON]
#: What the lab's line says on RabbitMQ, and an unanswered check, in each language.
BROKER = {"en": "Broker: RabbitMQ at rabbit://guest:****@127.0.0.1:",
          "fr": "Courtier\u00a0: RabbitMQ à l’adresse rabbit://guest:****@127.0.0.1:"}
UNANSWERED = {"en": "Not attempted", "fr": "Non tenté"}
CORRECT = {"en": "✔ Correct", "fr": "✔ Correct"}


@pytest.fixture
def vhost(rabbitmq_node):
    """A fresh vhost of the session's node, deleted afterwards."""
    name = f"lesson05-{uuid.uuid4().hex[:8]}"
    url = rabbitmq_node.add_vhost(name)
    try:
        yield {"COURSE_TRANSPORT_URL": url, "COURSE_MANAGEMENT_URL": rabbitmq_node.management_url}
    finally:
        rabbitmq_node.delete_vhost(name)


def printed(outputs: list) -> str:
    return "\n".join(str(o.get("data", {}).get("text/plain", o.get("text", "")))
                     for cell in outputs for o in cell)


def test_both_languages_exist():
    assert [p.parent.name for p in PATHS] == ["en", "fr"]


@pytest.mark.parametrize("path", PATHS, ids=[p.parent.name for p in PATHS])
@pytest.mark.parametrize("solutions", [False, True], ids=["starters", "solutions"])
def test_lesson_runs_on_rabbitmq(path, solutions, vhost, rabbitmq_node):
    text = printed(execute(path, solutions=solutions, quiet=True, env=vhost).outputs)
    language = path.parent.name
    assert BROKER[language] in text
    assert "rabbitmqctl list_queues -p lesson05-" in text  # the lab says where to look
    if solutions:  # the notebook's last cell asserted that every check said Correct
        assert text.count(CORRECT[language]) >= 3
    else:
        assert text.count(UNANSWERED[language]) >= 3
    assert "guest:guest" not in text and rabbitmq_node.password + "@" not in text


def test_vhost_slash_nova_is_written_with_two_slashes(rabbitmq_node):
    """q1's rule on RabbitMQ itself: with only `/nova`, `//nova` and `/%2Fnova` connect,
    `/nova` is refused (NOT_ALLOWED: there is no vhost `nova`)."""
    rabbitmq_node.add_vhost("/nova")
    try:
        base = f"rabbit://guest:guest@127.0.0.1:{rabbitmq_node.amqp_port}"
        for tail in ("//nova", "/%2Fnova"):
            with open_connection(base + tail) as connection:
                assert connection.virtual_host == "/nova"
        with pytest.raises(BrokerUnreachable, match="vhost nova does not exist.*NOT_ALLOWED"):
            open_connection(base + "/nova")
    finally:
        rabbitmq_node.delete_vhost("/nova")


def test_oslo_messaging_reads_the_solution_alike():
    oslo_messaging = require("oslo_messaging", "oslo.messaging is not installed")
    cfg = require("oslo_config.cfg", "oslo.config is not installed")
    scope: dict = {}
    exec(ex.q1.solution_code, scope)
    theirs = oslo_messaging.TransportURL.parse(cfg.ConfigOpts(), scope["url"])
    ours = parse_transport_url(scope["url"])
    assert theirs.virtual_host == ours.virtual_host == "/nova"
    assert [h.hostname for h in theirs.hosts] == list(ex.CONTROLLERS)
