"""One lab across five processes on one RabbitMQ, as a deployment spans machines.

nova-conductor, nova-scheduler and two nova-computes each run as ``python -m course
serve``; ``python -m course boot --database`` is nova-api in a fifth process.  The
controllers share one SQLite file as they would share MySQL; the computes reach it
only through the conductor, over the broker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest

pytestmark = pytest.mark.rabbitmq


def _serve(url: str, database: str, binary: str, host: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "course", "serve", binary, "--host", host,
         "--transport-url", url, "--database", database],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COURSE_LANG": "en"})
    line = process.stdout.readline()  # "nova-... is running on ..." once it consumes
    assert "is running" in line, line + process.stdout.read()
    return process


def test_five_processes_boot_a_vm(rabbitmq_node, tmp_path):
    vhost = f"multi-{uuid.uuid4().hex[:8]}"
    url = rabbitmq_node.add_vhost(vhost)
    database = str(tmp_path / "nova.sqlite")
    services = []
    try:
        for binary, host in (("nova-conductor", "controller"), ("nova-scheduler", "controller"),
                             ("nova-compute", "compute1"), ("nova-compute", "compute2")):
            services.append(_serve(url, database, binary, host))
        boot = subprocess.run(
            [sys.executable, "-m", "course", "boot", "--transport-url", url,
             "--database", database, "--name", "vm-multi"],
            capture_output=True, text=True, timeout=120, env={**os.environ, "COURSE_LANG": "en"})
        assert boot.returncode == 0, boot.stdout + boot.stderr
        assert "vm-multi: ACTIVE on compute" in boot.stdout
        assert "guest:guest" not in boot.stdout  # the password is masked
        # This process's trace holds only what nova-api itself did: the other hops
        # happened in the other processes (each process has its own trace).
        assert "schedule_and_build_instances" in boot.stdout
        assert "build_and_run_instance" not in boot.stdout
        assert boot.stdout.rstrip().endswith(
            "(building, scheduling) → (building, None) → (building, networking) → "
            "(building, block_device_mapping) → (building, spawning) → (active, None)")
    finally:
        for process in services:
            process.send_signal(signal.SIGTERM)
        for process in services:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        rabbitmq_node.delete_vhost(vhost)
    assert all(p.returncode == 0 for p in services), [p.returncode for p in services]
