"""Lesson 08 on a real RabbitMQ, as on Binder: the English notebook runs top to bottom as it
is, the French one with its solutions, on a private node of this module, which the lesson
stops and starts again (lab 3) as Binder's node: found through $COURSE_RABBITMQ_NODE.  The
session's node serves the other tests and is never stopped."""

from __future__ import annotations

import uuid

import pytest
from helpers import unavailable

from course import rabbitmq
from course.bench.lessons import execute, lessons
from course.rabbitmq import NODE_ENV_VAR, RabbitMQNode

pytestmark = pytest.mark.rabbitmq

LESSON = "08-failure-labs.ipynb"
PATHS = [p for language in ("en", "fr") for p in lessons(language) if p.name == LESSON]
UNANSWERED = {"en": "Not attempted", "fr": "Non tenté"}
CORRECT = {"en": "✔ Correct", "fr": "✔ Correct"}


@pytest.fixture(scope="module")
def node():
    """A node saved in its folder as `python -m course.rabbitmq start` saves Binder's; at the
    end, the process the lessons launched last is stopped for good."""
    if rabbitmq.find_server() is None:
        unavailable("RabbitMQ is not installed: apt-get install rabbitmq-server")
    started = RabbitMQNode.start()
    started.save()
    try:
        yield started
    finally:
        (RabbitMQNode.attach(started.folder) or started).stop()


@pytest.fixture
def env(node):
    """A fresh vhost of the module's node for one run, deleted afterwards."""
    name = f"lesson08-{uuid.uuid4().hex[:8]}"
    url = node.add_vhost(name)
    try:
        yield {"COURSE_TRANSPORT_URL": url, "COURSE_MANAGEMENT_URL": node.management_url,
               NODE_ENV_VAR: str(node.folder)}
    finally:
        (RabbitMQNode.attach(node.folder) or node).delete_vhost(name)


def printed(outputs: list) -> str:
    return "\n".join(str(o.get("data", {}).get("text/plain", o.get("text", "")))
                     for cell in outputs for o in cell)


def test_both_languages_exist():
    assert [p.parent.name for p in PATHS] == ["en", "fr"]


#: English as it is, French with its solutions: each language and each way runs once (a
#: run forms a three-node cluster and restarts the node: about 40 s).
RUNS = [(PATHS[0], False), (PATHS[1], True)]


@pytest.mark.parametrize("path, solutions", RUNS, ids=["en-starters", "fr-solutions"])
def test_lesson_runs_on_rabbitmq(path, solutions, env, node):
    text = printed(execute(path, solutions=solutions, quiet=True, env=env, timeout=300).outputs)
    language = path.parent.name
    assert "<Lab rabbit://guest:****@127.0.0.1:" in text  # the lab's own line (text/plain)
    assert "will not stop a broker" not in text and "n’arrêtera pas" not in text
    assert "Lost connection to nova-conductor for reporting service status." in text
    if solutions:  # the notebook's last cell asserted that every check said Correct
        assert text.count(CORRECT[language]) >= 4
    else:
        assert text.count(UNANSWERED[language]) >= 4
    assert "guest:guest" not in text
