"""course.nova_conf: a nova.conf read by oslo.config's rules, what Nova would ignore or
refuse said in one sentence each, passwords never shown; the notification settings it gives
the lab's Nova."""

from __future__ import annotations

import pytest
from helpers import require

from course.errors import NovaConfError, TransportURLError
from course.nova_conf import read_nova_conf
from course.openstack.nova import Notifications

SECRET = "s3cr3t-Pa55"


def test_sections_values_comments_and_continuations():
    conf = read_nova_conf(f"""
# a comment
[DEFAULT]
transport_url = rabbit://nova:{SECRET}@ctl1:5672//nova
; another comment
control_exchange: nova

[OSLO_MESSAGING_NOTIFICATIONS]
driver = messagingv2
driver = log
topics = notifications,
  billing
retry = "3"
""")
    assert conf.value("DEFAULT", "control_exchange") == "nova"
    assert conf.value("oslo_messaging_notifications", "retry") == "3"  # quotes stripped
    assert conf.transport_url.virtual_host == "/nova"
    assert conf.notifications == Notifications(driver=("messagingv2", "log"),
                                               topics=("notifications", "billing"))
    assert conf.findings() == []


def test_last_value_wins_for_a_single_valued_option():
    conf = read_nova_conf("[notifications]\nnotification_format = versioned\n"
                          "notification_format = both\n")
    assert conf.notifications.notification_format == "both"


def test_defaults_when_nothing_is_set():
    conf = read_nova_conf("[DEFAULT]\nmy_ip = 10.0.0.11\n")
    assert str(conf.transport_url) == "rabbit:///"
    assert conf.transport_url.hosts == ()
    assert conf.notifications == Notifications()
    assert conf.notifications.senders() == {}
    assert "not set" in conf.explain()


@pytest.mark.parametrize(("text", "named"), [
    (f"[oslo_messaging_rabbit]\ntransport_url = rabbit://nova:{SECRET}@ctl1/\n",
     ["line 2", "`transport_url`", "[oslo_messaging_rabbit]", "[DEFAULT]"]),
    ("[oslo_messaging_rabbit]\nrabbit_host = ctl1\n",
     ["`rabbit_host`", "9.0.0 (Stein)", "`transport_url`"]),
    (f"[DEFAULT]\nrabbit_password = {SECRET}\n", ["`rabbit_password`", "removed"]),
    ("[oslo_messaging_rabbit]\nheartbeat_in_pthread = true\n", ["18.0.0", "remove the line"]),
    ("[oslo_messaging_rabbit]\nkombu_ssl_ca_certs = /etc/ca.pem\n", ["`ssl_ca_file`"]),
    ("[DEFAULT]\nheartbeat_timeout_threshold = 30\n",
     ["not read in [DEFAULT]", "[oslo_messaging_rabbit]"]),
    ("[oslo_messaging_rabbit]\nrabbit_quorum_queu = true\n",
     ["Did you mean `rabbit_quorum_queue`"]),
    ("[oslo_messaging_notifications]\nnotification_format = both\n", ["[notifications]"]),
    ("[oslo_messaging_notifications]\ndriver = messagingv2, log\n",
     ["`messagingv2, log`", "one name per"]),
    ("[notifications]\nnotification_format = all\n", ["refuses to start", "`all`"]),
    (f"[DEFAULT]\ntransport_url = rabbit://nova:p@{SECRET}@ctl1/\n", ["cannot be read", "%40"]),
    (f"[DEFAULT]\ntransport_url = rabbit://nova:{SECRET}@ctl1,ctl2/\n", ["oslo.messaging expects"]),
])
def test_findings_name_the_line_and_the_fix_without_the_password(text, named):
    conf = read_nova_conf(text)
    (finding,) = conf.findings()
    message = str(finding)
    for part in named:
        assert part in message
    assert message.startswith("line 2: ")
    for shown in (message, conf.explain(), repr(conf)):
        assert SECRET not in shown


def test_transport_url_in_the_notifications_section_is_allowed():
    conf = read_nova_conf("[oslo_messaging_notifications]\ntransport_url = rabbit://n:p@h/\n")
    assert conf.findings() == []


def test_a_malformed_url_raises_when_asked_for():
    conf = read_nova_conf("[DEFAULT]\ntransport_url = kafka://h/\n")
    with pytest.raises(TransportURLError):
        _ = conf.transport_url
    assert "unreadable" in conf.explain()


@pytest.mark.parametrize(("text", "why"), [
    ("transport_url = rabbit://h/\n", "before any [section]"),
    ("[DEFAULT\nx = 1\n", "[name]"),
    ("[]\n", "[name]"),
    ("[DEFAULT]\njust a line\n", "no ="),
    ("[DEFAULT]\n= 1\n", "no option name"),
    ("[DEFAULT]\n\n  continued\n", "continues no option"),
])
def test_what_oslo_config_cannot_read_is_an_error_naming_the_line(text, why):
    with pytest.raises(NovaConfError, match="line") as caught:
        read_nova_conf(text)
    assert why in str(caught.value)


def test_not_a_string():
    with pytest.raises(NovaConfError, match="not int"):
        read_nova_conf(3)


def test_in_french(french):
    conf = read_nova_conf("[oslo_messaging_rabbit]\nrabbit_host = ctl1\n")
    message = str(conf.findings()[0])
    assert message.startswith("ligne 2\u00a0: ")
    assert "Stein" in message and "ignore" in message
    with pytest.raises(NovaConfError) as caught:
        read_nova_conf("x = 1\n")
    assert "oslo.config" in str(caught.value) and "ligne 1" in str(caught.value)


@pytest.mark.parametrize(("settings", "senders"), [
    (Notifications(), {}),
    (Notifications(driver=("noop",)), {}),
    (Notifications(driver=("log",)), {}),
    (Notifications(driver=("messagingv2",)), {"legacy": (("messagingv2",), ("notifications",))}),
    (Notifications(driver=("messagingv2", "messagingv2"), notification_format="versioned"),
     {"versioned": (("messagingv2",), ("versioned_notifications",))}),
    (Notifications(driver=("messaging",), topics=("a", "b"), notification_format="both"),
     {"versioned": (("messaging",), ("versioned_notifications",)),
      "legacy": (("messaging",), ("a", "b"))}),
])
def test_which_notifiers_publish_as_in_nova_rpc_init(settings, senders):
    assert settings.senders() == senders


OSLO_MISSING = "oslo.config is not installed: pip install -e '.[test]'"


def test_reads_what_oslo_config_reads(tmp_path):
    """The same file through oslo.config itself: the same values."""
    cfg = require("oslo_config.cfg", OSLO_MISSING)
    text = ("[DEFAULT]\ntransport_url = rabbit://n:p@h//nova\n\n[Oslo_Messaging_Notifications]\n"
            "driver = messagingv2\ndriver = log\ntopics = a,\n  b\n")
    path = tmp_path / "nova.conf"
    path.write_text(text)
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.StrOpt("transport_url")])
    conf.register_opts([cfg.MultiStrOpt("driver"), cfg.ListOpt("topics")],
                       group="oslo_messaging_notifications")
    conf(args=[], default_config_files=[str(path)])
    ours = read_nova_conf(text)
    assert ours.value("DEFAULT", "transport_url") == conf.transport_url
    assert list(ours.notifications.driver) == conf.oslo_messaging_notifications.driver
    assert list(ours.notifications.topics) == conf.oslo_messaging_notifications.topics
