"""The benchmark runs end to end (tiny sizes here: figures come from `python -m course.bench`)."""

from __future__ import annotations

import json

import pytest

from course import bench
from course.bench import brokers, cloud, lessons, rpc
from course.bench import cluster as bench_cluster


@pytest.fixture
def tiny(monkeypatch):
    for module, name, value in ((brokers, "ROUND_TRIPS", 20), (brokers, "MESSAGES", 200),
                                (brokers, "RUNS", 1), (brokers, "IDLE_SECONDS", 0.2),
                                (rpc, "RPC_CALLS", 20), (rpc, "RPC_RUNS", 1),
                                (cloud, "BOOTS", 10), (cloud, "COMPUTES", 2),
                                (cloud, "IDLE_SECONDS", 0.2), (cloud, "DIAGRAM_COMPUTES", 5)):
        monkeypatch.setattr(module, name, value)
    monkeypatch.setattr(lessons, "lessons", lambda language="en": lessons.NOTEBOOKS.glob(
        f"{language}/00-*.ipynb"))


def test_every_section_reports_figures_and_targets(tiny, tmp_path, capsys):
    output = tmp_path / "bench.json"
    code = bench.main(["--no-rabbitmq", "--output", str(output)])
    report = json.loads(output.read_text())
    assert set(report) >= {"brokers", "rpc", "cloud", "lessons", "machine"}
    assert [row["broker"] for row in report["brokers"]["rows"]] == [
        "kombu memory:// (polling 0)", "embedded"]
    assert report["cloud"]["rows"][0]["active"] == report["cloud"]["rows"][0]["boots"]
    assert report["cloud"]["rows"][0]["messages_per_boot"] > 10
    out = capsys.readouterr().out
    assert "(RabbitMQ not measured: --no-rabbitmq)" in out
    assert code == (0 if all(t["met"] for t in bench.targets(report)) else 1)


@pytest.mark.rabbitmq
@pytest.mark.cluster
def test_the_cluster_section_measures_a_failover(cluster, monkeypatch):
    """On the session's cluster (the section starts one of its own from the command line)."""
    monkeypatch.setattr(bench_cluster, "MESSAGES", 50)
    section = bench_cluster.run(cluster)
    row = section["rows"][0]
    assert (row["confirmed"], row["lost"]) == (50, 0)
    assert 0 < row["after_node_down_s"] < row["failover_s"]
    assert row["probe_on_leader_node"]
    assert sum(not node.running for node in cluster.nodes) == 1  # the leader's node
    assert (row["casts"], row["casts_lost"]) == (50, 0)
    assert 0 < row["call_failover_s"] and row["casts_on_leader_node"]
    assert section["targets"][0]["met"] and section["targets"][2]["met"]  # nothing lost
    lines = bench_cluster.table(section)
    assert lines[2] == "0 of 50 confirmed messages lost"
    assert lines[-1] == "0 of 50 confirmed casts to a quorum topic queue lost"


def test_the_cluster_section_needs_rabbitmq():
    report = bench.run(with_rabbitmq=False, sections=("cluster",))
    assert "cluster" not in report and report["rabbitmq"] is False
