"""Lesson 09's quiz."""

from __future__ import annotations

from ...i18n import N_
from ..quiz import Choice, Question, Quiz

quiz = Quiz(
    Question("q1", N_("You add 50 nova-compute hosts to a cloud. Which queues grow in "
                      "number?"), (
        Choice(N_("`compute.<host>`, `compute_fanout_<uuid>` and a `reply_<uuid>` per "
                  "compute (and their `compute-alt` twins on 2026.1)."),
               N_("Yes: each compute process brings its own; the shared `compute` queue "
                  "only gets more consumers."), correct=True),
        Choice(N_("Only `compute`: the computes share it."),
               N_("No: `compute` exists once, but every compute adds its server queue, "
                  "its fanout queue and its reply queue.")),
        Choice(N_("`conductor` and `scheduler`, which get more work."),
               N_("No: more work means more messages, not more queues; those queues "
                  "exist once.")),
    )),
    Question("q2", N_("In a multi-cell deployment, why does the cast "
                      "`update_instance_info` of a compute never reach the scheduler?"), (
        Choice(N_("The compute publishes it on its cell's broker, where no scheduler "
                  "listens."),
               N_("Yes: an upcall. Nova's cells guide says to set "
                  "`[filter_scheduler] track_instance_changes = False`."), correct=True),
        Choice(N_("The super-conductor filters it out."),
               N_("No: the super-conductor never sees it; the broker routes it to no "
                  "queue.")),
        Choice(N_("Fanout casts are forbidden across vhosts by RabbitMQ."),
               N_("No: a fanout exchange exists per vhost; nothing is forbidden, the "
                  "message just finds no bound queue.")),
    )),
    Question("q3", N_("`rabbitmqctl list_queues name messages consumers` shows "
                      "`conductor  4211  0`. What does that mean?"), (
        Choice(N_("No conductor consumes: every compute's calls pile up and time out."),
               N_("Yes: the conductor (or its RPC server) is down; the callers log "
                  "`MessagingTimeout`."), correct=True),
        Choice(N_("The conductor is slow: add workers."),
               N_("No: a slow conductor still has consumers; 0 consumers means none "
                  "reads at all.")),
        Choice(N_("A leak: delete the queue."),
               N_("No: these are real requests, and the conductors need the queue when "
                  "they come back.")),
    )),
    Question("q4", N_("Which settings does oslo.messaging recommend for quorum and stream "
                      "queues?"), (
        Choice(N_("`rabbit_quorum_queue`, `rabbit_transient_quorum_queue`, "
                  "`use_queue_manager` and `rabbit_stream_fanout`, all true."),
               N_("Yes: its `doc/source/admin/rabbit.rst` says so, and kolla-ansible "
                  "sets them by default."), correct=True),
        Choice(N_("`rabbit_ha_queues = true` with an `ha-mode` policy."),
               N_("No: RabbitMQ 4.0 removed classic queue mirroring; `rabbit_ha_queues` "
                  "only sets an argument RabbitMQ ignores.")),
        Choice(N_("`amqp_durable_queues = true` alone."),
               N_("No: durable classic queues survive a restart of their node but are "
                  "not replicated.")),
    )),
    Question("q5", N_("Why does RabbitMQ 4.3 refuse oslo.messaging's default queues?"), (
        Choice(N_("They are transient (not durable) and not exclusive, a combination "
                  "RabbitMQ deprecated and 4.3 denies by default."),
               N_("Yes: durable or quorum queues avoid it, as kolla-ansible configures "
                  "them."), correct=True),
        Choice(N_("Their names contain a uuid."),
               N_("No: a queue's name does not matter to RabbitMQ.")),
        Choice(N_("They have `x-expires`."),
               N_("No: queue TTL is fine; the deprecated combination is non-durable and "
                  "non-exclusive.")),
    )),
)
