"""The failure lessons' seams: ``lab.stop_broker()`` / ``lab.start_broker()`` on both brokers
(on RabbitMQ only for a node the course started, found through $COURSE_RABBITMQ_NODE), and
``lab.log``, the lines the lab's services logged."""

from __future__ import annotations

import logging
import socket
import threading

import pytest
from helpers import unavailable

import course
from course import broker, rabbitmq
from course.errors import BrokerUnreachable
from course.logbook import LogBook, service_of
from course.outage import NotOurBroker
from course.rabbitmq import NODE_ENV_VAR, RabbitMQNode


def answers(url: str) -> bool:
    try:
        broker.connect(url, timeout=2).close()
    except BrokerUnreachable:
        return False
    return True


def test_the_embedded_broker_stops_and_starts_again():
    lab = course.Lab()
    try:
        lab.stop_broker()
        assert not answers(lab.url)
        lab.start_broker()
        assert answers(lab.url)
        assert (lab.outage.stops, lab.outage.starts) == (1, 1)
    finally:
        lab.stop()


def test_a_lab_that_stops_starts_its_stopped_broker_again():
    lab = course.Lab()
    lab.stop_broker()
    lab.stop()
    assert answers("embedded://")


def test_exports_name_the_nodes_folder(tmp_path):
    node = RabbitMQNode(tmp_path, 5999, 15999, {})
    assert f"export {NODE_ENV_VAR}={tmp_path}\n" in node.exports()


@pytest.fixture(scope="module")
def own_node():
    """A private node of this module, saved in its folder as `python -m course.rabbitmq
    start` saves Binder's; stopped for good (also when a lab launched it again) at the end."""
    if rabbitmq.find_server() is None:
        unavailable("RabbitMQ is not installed: apt-get install rabbitmq-server")
    node = RabbitMQNode.start()
    node.save()
    try:
        yield node
    finally:
        (RabbitMQNode.attach(node.folder) or node).stop()


@pytest.mark.rabbitmq
def test_the_courses_own_rabbitmq_node_stops_and_starts_again(own_node, monkeypatch):
    monkeypatch.setenv(NODE_ENV_VAR, str(own_node.folder))
    lab = course.Lab(own_node.url)
    try:
        lab.stop_broker()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", own_node.amqp_port), timeout=2).close()
        lab.start_broker()
        assert answers(own_node.url)
        again = RabbitMQNode.attach(own_node.folder)  # the new process, for the next one
        assert again is not None and again.running
    finally:
        lab.stop()


@pytest.mark.rabbitmq
def test_a_rabbitmq_the_course_did_not_start_is_left_alone(rabbitmq_node, own_node,
                                                           monkeypatch):
    for env in (None, str(own_node.folder)):  # no node named, or another node
        if env is None:
            monkeypatch.delenv(NODE_ENV_VAR, raising=False)
        else:
            monkeypatch.setenv(NODE_ENV_VAR, env)
        lab = course.Lab(rabbitmq_node.url)
        try:
            with pytest.raises(NotOurBroker, match="will not stop a broker it did not start"
                               ) as error:
                lab.stop_broker()
            assert answers(rabbitmq_node.url)
            assert "guest:guest" not in str(error.value) and "****" in str(error.value)
        finally:
            lab.stop()


def test_the_reason_is_french_too(french, monkeypatch):
    monkeypatch.delenv(NODE_ENV_VAR, raising=False)
    from course.outage import BrokerOutage

    with pytest.raises(NotOurBroker, match="n’arrêtera pas") as error:
        BrokerOutage("rabbit://nova:secret@127.0.0.1:5999/").stop()
    assert "secret" not in str(error.value)


def test_the_log_book_names_the_service_of_each_line():
    assert service_of("nova-compute:compute1 report_state") == "nova-compute:compute1"
    assert service_of("nova-compute:compute1_3") == "nova-compute:compute1"
    assert service_of("MainThread") == ""
    book = LogBook().open()
    log = logging.getLogger("course.openstack.test")
    try:
        thread = threading.Thread(target=log.warning, args=("Lost %s", "it"),
                                  name="nova-compute:cmp1 report_state")
        thread.start()
        thread.join()
        log.debug("not kept")
        log.info("from the kernel")
    finally:
        book.close()
    log.warning("after the book closed")
    assert [(line.service, line.level, line.message) for line in book.lines()] == [
        ("nova-compute:cmp1", "WARNING", "Lost it"), ("", "INFO", "from the kernel")]
    assert [line.message for line in book.lines("nova-compute")] == ["Lost it"]
    assert book.lines("nova-compute", "other") == []
    assert str(book.lines()[0]).split() == ["nova-compute:cmp1", "WARNING", "Lost", "it"]
