"""``python -m course``: clear messages, masked passwords, real output."""

from __future__ import annotations

import argparse
import ast
import gettext
import inspect
import re
import subprocess
import sys
import time

import kombu
import pytest

import course
import course.__main__ as cli
from course import i18n, rabbitmq
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


# -- the command line in the learner's language ------------------------------------------


def help_of(capsys, argv):
    """The help printed, its lines joined (argparse wraps them at plain spaces only)."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 0
    return re.sub(r"\n +", " ", capsys.readouterr().out)


@pytest.mark.parametrize("argv", [["--lang", "fr", "boot", "--help"],
                                  ["boot", "--help", "--lang", "fr"],
                                  ["boot", "--lang=fr", "--help"]])
def test_help_in_french_wherever_lang_is(capsys, argv):
    out = help_of(capsys, argv)
    assert out.startswith("utilisation\u00a0: python -m course boot ")
    assert "options\u00a0: -h, --help" in out and "afficher ce message d’aide et quitter" in out
    assert "courtier (par défaut\u00a0: $COURSE_TRANSPORT_URL, sinon le courtier intégré)" in out
    for english in ("usage:", "options:", "show this help", "default", "broker"):
        assert english not in out
    assert i18n.get_language() == "en"  # --lang held for the run only
    assert argparse._ is gettext.gettext and argparse.ngettext is gettext.ngettext


def test_help_follows_the_usual_order(capsys, monkeypatch):
    monkeypatch.setattr(i18n, "_default", None)
    monkeypatch.setenv("COURSE_LANG", "fr")
    out = help_of(capsys, ["--help"])
    assert "arguments positionnels\u00a0:" in out and "Les outils du cours" in out
    assert "démarrer une VM et afficher les messages de son démarrage" in out
    assert "usage:" in help_of(capsys, ["--lang", "en", "--help"])


def test_argparse_errors_in_french(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--lang", "fr"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("utilisation\u00a0: python -m course serve ")
    assert err.endswith("python -m course serve\u00a0: erreur\u00a0: les arguments suivants sont "
                        "obligatoires\u00a0: service, --host, --transport-url\n")
    with pytest.raises(SystemExit):
        main(["--lang", "fr", "boot", "--timeout", "soon"])
    err = capsys.readouterr().err
    assert "argument --timeout\u00a0: valeur float non valide\u00a0: 'soon'" in err
    with pytest.raises(SystemExit):  # an unknown language: refused in the usual order's words
        main(["--lang", "de", "topology"])
    assert "invalid choice: 'de' (choose from 'en', 'fr')" in capsys.readouterr().err
    assert argparse._ is gettext.gettext
    assert "usage:" in argparse.ArgumentParser(prog="x").format_usage()  # nothing leaked


def test_argparse_words_are_argparse_s_own():
    """The catalog's argparse entries are the very strings argparse looks up (a typo would
    leave them in English)."""
    tree = ast.parse(inspect.getsource(argparse))
    looked_up = {tuple(a.value for a in node.args if isinstance(a, ast.Constant))
                 for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Name) and node.func.id in ("_", "ngettext")}
    singles = {args[0] for args in looked_up if len(args) == 1}
    assert set(cli.ARGPARSE_WORDS) <= singles
    assert set(cli.ARGPARSE_PLURALS) <= {args[:2] for args in looked_up if len(args) >= 2}


def test_help_in_french_as_a_module():
    result = subprocess.run([sys.executable, "-m", "course", "topology", "--help", "--lang",
                             "fr"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "inclure les exchanges amq.* et l’exchange par défaut" in result.stdout
