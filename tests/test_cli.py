"""``python -m course``: clear messages, masked passwords, real output."""

from __future__ import annotations

import subprocess
import sys
import time

import kombu
import pytest

import course
from course import rabbitmq
from course.__main__ import main


def test_topology_of_the_embedded_broker(capsys):
    course.broker.reset()
    with course.broker.connect() as conn:
        kombu.Queue("compute", kombu.Exchange("nova", "topic", durable=False), "compute",
                    durable=False, channel=conn.default_channel).declare()
    assert main(["topology"]) == 0
    out = capsys.readouterr().out
    assert out == (
        "name  type\nnova  topic\n\n"
        "name     messages_ready  messages_unacknowledged  consumers\n"
        "compute               0                        0          0\n\n"
        "source_name  destination_name  routing_key\n"
        "nova         compute           compute\n")
    course.broker.reset()


def test_unreachable_broker_is_one_masked_sentence(capsys):
    port = rabbitmq.free_port()
    started = time.monotonic()
    code = main(["topology", "--transport-url", f"rabbit://nova:s3cret@127.0.0.1:{port}/",
                 "--management-url", f"http://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2
    assert time.monotonic() - started < 5
    assert "s3cret" not in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_malformed_url_in_french(capsys):
    assert main(["--lang", "fr", "topology", "--transport-url", "rabbit://h:notaport/"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("TransportURLError: ") and "port" in err


def test_help_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "course", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert all(word in result.stdout for word in ("boot", "serve", "topology"))


@pytest.mark.rabbitmq
def test_topology_of_a_real_rabbitmq(rabbitmq_node, capsys):
    url = rabbitmq_node.add_vhost("cli-topology")
    try:
        with course.broker.connect(url) as conn:
            kombu.Queue("conductor", kombu.Exchange("nova", "topic", durable=False),
                        "conductor", durable=False, channel=conn.default_channel).declare()
        assert main(["topology", "--transport-url", url,
                     "--management-url", rabbitmq_node.management_url]) == 0
        out = capsys.readouterr().out
        assert "nova  topic" in out and "nova         conductor         conductor" in out
        assert "amq.topic" not in out  # built-ins hidden unless --all
        assert "guest:guest" not in out
    finally:
        rabbitmq_node.delete_vhost("cli-topology")
