"""Read a ``transport_url`` the way OpenStack does, and open it with kombu.

Every OpenStack service finds its broker through one setting, ``[DEFAULT] transport_url``::

    rabbit://openstack:secret@ctl1:5672,openstack:secret@ctl2:5672/nova?ssl=true

:func:`parse_transport_url` follows oslo.messaging's ``TransportURL.parse``
(``oslo_messaging/transport.py``) and the option check of its RabbitMQ driver, so what
the course accepts, nova would accept too.  Where oslo.messaging would fail later with a
raw Python error, or silently read something else than what was meant, the course stops
at once with one sentence naming the bad part.  :func:`open_connection` turns the result
into a connected ``kombu.Connection`` or says, within a few seconds, why it cannot.
Passwords never appear in anything this module shows: they become ``****``.
"""

from __future__ import annotations

import difflib
import re
import socket
import ssl
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import parse_qs, quote, unquote, urlencode

import amqp
import kombu
from kombu.exceptions import KombuError

from .errors import BrokerRefused, BrokerUnreachable, TransportURLError
from .i18n import _, format_seconds

DEFAULT_PORT = 5672
MASK = "****"
#: ``rabbit`` is OpenStack's name, ``amqp`` kombu's, ``embedded`` the course's own broker.
DRIVERS = ("rabbit", "amqp", "embedded")


class Option(NamedTuple):
    """Type and limits of one ``[oslo_messaging_rabbit]`` option, as oslo.config checks them."""

    type: type
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()


_BOOL, _INT, _FLOAT, _STR = Option(bool), Option(int), Option(float), Option(str)

#: ``rabbit_opts`` (``_drivers/impl_rabbit.py``) and ``amqp_opts`` (``_drivers/amqp.py``) of
#: oslo.messaging 18.3: the only names a transport_url query may set.
RABBIT_OPTIONS: dict[str, Option] = {
    "rpc_conn_pool_size": Option(int, min=1),
    "conn_pool_min_size": _INT,
    "conn_pool_ttl": _INT,
    "ssl": _BOOL,
    "ssl_version": _STR,
    "ssl_key_file": _STR,
    "ssl_cert_file": _STR,
    "ssl_ca_file": _STR,
    "ssl_enforce_hostname_verification": _BOOL,
    "ssl_enforce_fips_mode": _BOOL,
    "kombu_reconnect_delay": Option(float, min=0.0, max=4.5),
    "kombu_reconnect_splay": Option(float, min=0.0),
    "kombu_compression": _STR,
    "kombu_missing_consumer_retry_timeout": _INT,
    "kombu_failover_strategy": Option(str, choices=("round-robin", "shuffle")),
    "rabbit_login_method": Option(str, choices=("PLAIN", "AMQPLAIN", "EXTERNAL",
                                                "RABBIT-CR-DEMO")),
    "rabbit_retry_interval": Option(int, min=1),
    "rabbit_retry_backoff": Option(int, min=0),
    "rabbit_interval_max": Option(int, min=1),
    "rabbit_ha_queues": _BOOL,
    "rabbit_quorum_queue": _BOOL,
    "rabbit_transient_quorum_queue": _BOOL,
    "rabbit_quorum_delivery_limit": _INT,
    "rabbit_quorum_max_memory_length": _INT,
    "rabbit_quorum_max_memory_bytes": _INT,
    "rabbit_transient_queues_ttl": Option(int, min=0),
    "rabbit_qos_prefetch_count": _INT,
    "heartbeat_timeout_threshold": _INT,
    "heartbeat_rate": _INT,
    "direct_mandatory_flag": _BOOL,
    "enable_cancel_on_failover": _BOOL,
    "use_queue_manager": _BOOL,
    "hostname": _STR,
    "processname": _STR,
    "rabbit_stream_fanout": _BOOL,
    "amqp_durable_queues": _BOOL,
    "amqp_auto_delete": _BOOL,
}

#: oslo.config's spellings of a boolean (``oslo_config.types.Boolean``).
_TRUE, _FALSE = ("true", "1", "on", "yes"), ("false", "0", "off", "no")

Value = bool | int | float | str


@dataclass(frozen=True)
class Host:
    """One broker node of the URL.  ``port`` is 5672 when the URL gives none."""

    hostname: str
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        password = None if self.password is None else MASK
        return (f"Host(hostname={self.hostname!r}, port={self.port}, "
                f"username={self.username!r}, password={password!r})")

    def __str__(self) -> str:
        return self.netloc(MASK)

    @property
    def address(self) -> str:
        """``host:port``, IPv6 addresses in brackets as URLs need them."""
        return _address(self.hostname, self.port)

    def netloc(self, password: str) -> str:
        """``user:<password>@host:port``: the caller decides what stands for the password
        (the embedded broker's URL has credentials and no host)."""
        address = self.address if self.hostname else ""
        if self.username is None and self.password is None:
            return address
        credentials = quote(self.username or "", safe="")
        if self.password is not None:
            credentials += ":" + password
        return f"{credentials}@{address}"


@dataclass(frozen=True)
class TransportURL:
    """A parsed transport_url.  ``repr``, ``str`` and :meth:`explain` show ``****`` for passwords.

    ``virtual_host`` is oslo.messaging's own value: None when nothing follows the hosts,
    ``""`` for a lone ``/``; both mean RabbitMQ's default vhost ``/`` (see :attr:`vhost`).
    ``query`` holds the options, converted to their types.
    """

    driver: str
    hosts: tuple[Host, ...] = ()
    virtual_host: str | None = None
    query: dict[str, Value] = field(default_factory=dict, hash=False)
    warnings: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def vhost(self) -> str:
        """The vhost RabbitMQ is asked for."""
        return self.virtual_host or "/"

    def __str__(self) -> str:
        url = f"{self.driver}://{','.join(str(h) for h in self.hosts)}/"
        if self.virtual_host:
            url += quote(self.virtual_host)
        if self.query:
            url += "?" + urlencode({k: _text(v) for k, v in self.query.items()})
        return url

    def explain(self) -> str:
        """One line per part of the URL, in the learner's language."""
        lines = [{
            "rabbit": _("driver: rabbit (RabbitMQ through kombu, which calls it amqp)"),
            "amqp": _("driver: amqp (kombu's name for RabbitMQ's protocol, AMQP 0-9-1)"),
            "embedded": _("driver: embedded (the course's broker, inside this Python process)"),
        }[self.driver]]
        if self.driver == "embedded":
            lines.append(_("host: none, the broker runs in this process"))
        elif not self.hosts:
            lines.append(_("host: none given, so localhost:5672 as guest/guest "
                           "(oslo.messaging's default)"))
        for number, host in enumerate(self.hosts, 1):
            if host.password is not None:
                lines.append(_("host {number}: {address}, user {user}, password {password}",
                               number=number, address=host.address, user=host.username,
                               password=MASK))
            elif host.username is not None:
                lines.append(_("host {number}: {address}, user {user}, no password",
                               number=number, address=host.address, user=host.username))
            else:
                lines.append(_("host {number}: {address}, no credentials (kombu logs in as "
                               "guest)", number=number, address=host.address))
        if self.virtual_host is None:
            lines.append(_("vhost: / (nothing after the hosts: RabbitMQ's default vhost)"))
        elif self.virtual_host == "":
            lines.append(_("vhost: / (a lone / after the hosts: RabbitMQ's default vhost)"))
        elif self.virtual_host == "/":
            lines.append(_("vhost: / (named explicitly by //)"))
        else:
            lines.append(_("vhost: {vhost} (the text after the hosts' /, %-decoded)",
                           vhost=self.virtual_host))
        for name, value in self.query.items():
            lines.append(_("option {name} = {value} (overrides [oslo_messaging_rabbit] {name})",
                           name=name, value=_text(value)))
        lines += [_("warning: {text}", text=text) for text in self.warnings]
        return "\n".join(lines)

    def kombu_urls(self) -> list[str]:
        """One kombu URL per host, built like oslo.messaging's driver does.

        ``rabbit`` becomes kombu's ``amqp``; no host means ``guest:guest@localhost:5672``.
        The URLs hold the password in clear: give them to kombu, never print them.
        """
        if self.driver == "embedded":
            raise TransportURLError(_(
                "An embedded:// URL names no network broker: open it with "
                "course.broker.connect()."))
        hosts = self.hosts or (Host("localhost", DEFAULT_PORT, "guest", "guest"),)
        vhost = quote(self.virtual_host or "", safe="")
        return [f"amqp://{h.netloc(quote(h.password or '', safe=''))}/{vhost}" for h in hosts]

    def kombu_options(self) -> dict[str, object]:
        """The ``kombu.Connection`` arguments the query options set, as oslo.messaging maps them."""
        query = self.query
        options: dict[str, object] = {
            "login_method": query.get("rabbit_login_method", "AMQPLAIN"),
            "failover_strategy": query.get("kombu_failover_strategy", "round-robin"),
            "ssl": False,
        }
        if query.get("ssl"):
            files = {"keyfile": "ssl_key_file", "certfile": "ssl_cert_file",
                     "ca_certs": "ssl_ca_file"}
            params = {key: query[name] for key, name in files.items() if query.get(name)}
            if "ca_certs" in params:  # None: kombu checks the name of the host it reaches
                params.update(cert_reqs=ssl.CERT_REQUIRED, server_hostname=None)
            options["ssl"] = params or True
        return options


def _address(hostname: str, port: int) -> str:
    return f"[{hostname}]:{port}" if ":" in hostname else f"{hostname}:{port}"


def _text(value: Value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def parse_transport_url(url: str) -> TransportURL:
    """Parse ``driver://[user:pass@]host:port[,...]/virtual_host?query`` as oslo.messaging does.

    Stricter than oslo.messaging, which would accept these and go wrong later: an empty
    string (oslo reads ``[DEFAULT] transport_url`` instead), no ``://`` (``rabbit:h`` means
    localhost to oslo), an empty host in the list (oslo skips it), a port that is not
    1-65535 written in digits, an unencoded ``@ / ? # ,`` in a password, a value-less or
    unknown query option (oslo ignores the first, rejects the second only when the driver
    loads).  ``rabbit://`` alone is valid: oslo.messaging means ``guest:guest@localhost:5672``.
    """
    if not isinstance(url, str):
        raise TransportURLError(_("A transport_url is a string, not {kind}.",
                                  kind=type(url).__name__))
    text = url.strip()  # as oslo.config reads a value from nova.conf
    if not text:
        raise TransportURLError(_(
            "The transport_url is empty: write one like rabbit://user:password@host:5672/."))
    if "://" not in text:
        raise TransportURLError(_(
            "The transport_url has no `://` after its driver: write one like "
            "`rabbit://user:password@host:5672/`."))
    scheme, _sep, rest = text.partition("://")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        raise TransportURLError(_(
            "The transport_url must start with its driver: write one like "
            "rabbit://user:password@host:5672/."))
    driver = scheme.lower()
    if driver not in DRIVERS:
        raise TransportURLError(_(
            "Unknown driver \"{driver}\" in the transport_url: OpenStack's RabbitMQ driver is "
            "rabbit, as in rabbit://user:password@host:5672/.", driver=scheme))
    authority, tail = re.match(r"([^/?#]*)(.*)", rest, re.S).groups()
    _check_cut_password(authority, tail)
    path, _q, query_text = tail.partition("#")[0].partition("?")
    virtual_host = unquote(path[1:]) if path.startswith("/") else None
    if driver == "embedded" and authority and not re.fullmatch(r"[^@,]*@", authority):
        raise TransportURLError(_(
            "The embedded broker runs inside Python and takes no host: write embedded:// "
            "or embedded:///<vhost>."))
    if driver == "embedded" and authority:  # credentials only: embedded://user:pass@/vhost
        username, colon, secret = authority[:-1].partition(":")
        hosts: tuple[Host, ...] = (Host("", 0, unquote(username),
                                        unquote(secret) if colon else None),)
        query, warnings = _parse_query(query_text)
        return TransportURL(driver, hosts, virtual_host, query, tuple(warnings))
    pieces = authority.split(",") if authority else []
    hosts = tuple(_parse_host(piece, number, "@" in ",".join(pieces[number:]))
                  for number, piece in enumerate(pieces, 1))
    query, warnings = _parse_query(query_text)
    return TransportURL(driver, hosts, virtual_host, query,
                        tuple(_url_warnings(driver, hosts) + warnings))


def _check_cut_password(authority: str, tail: str) -> None:
    """A ``/``, ``?`` or ``#`` in a password ends the host list early: the ``@`` comes later."""
    last = authority.rsplit(",", 1)[-1]
    if "@" in last or "@" not in tail:
        return
    char = tail[0]
    code = {"/": "%2F", "?": "%3F", "#": "%23"}[char]
    user, colon, port = last.partition(":")
    if colon and not port.isdigit():  # "user:pa" before "/ss@host" is no host:port
        raise TransportURLError(_(
            "The password of user {user} contains an unencoded {char}: write it as {code}.",
            user=unquote(user), char=char, code=code))
    raise TransportURLError(_(
        "An @ comes after the host list: write {char} as {code} in a user name or password, "
        "and @ as %40 in a vhost name.", char=char, code=code))


def _parse_host(piece: str, number: int, at_follows: bool) -> Host:
    """``[user[:password]@]host[:port]``; the last ``@`` ends the credentials, as in oslo."""
    if not piece:
        raise TransportURLError(_(
            "Host {number} of the transport_url is empty: remove the extra comma.",
            number=number))
    username = password = None
    hostport = piece
    if "@" in piece:
        credentials, hostport = piece.rsplit("@", 1)
        username, colon, secret = credentials.partition(":")
        username = unquote(username)
        if "@" in secret:
            raise TransportURLError(_(
                "The password of user {user} contains an unencoded @: write it as %40.",
                user=username))
        password = unquote(secret) if colon else None
        if not hostport:
            raise TransportURLError(_(
                "Host {number} of the transport_url has credentials but no host name after "
                "the @.", number=number))
    try:
        hostname, port = _split_host_port(hostport, number)
    except TransportURLError:
        if at_follows and "@" not in piece:  # "user:pa,ss@host": what failed is a password
            raise TransportURLError(_(
                "Host {number} of the transport_url is not host:port and an @ follows: "
                "write a comma in a password as %2C.", number=number)) from None
        raise
    return Host(hostname, port, username, password)


def _split_host_port(hostport: str, number: int) -> tuple[str, int]:
    """oslo_utils.netutils.parse_host_port: an IPv6 address needs brackets to carry a port."""
    if hostport.startswith("["):
        hostname, bracket, after = hostport[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise TransportURLError(_(
                "Host {number} of the transport_url is not a valid [IPv6]:port.", number=number))
        port_text = after[1:] if after else None
    elif hostport.count(":") == 1:
        hostname, port_text = hostport.split(":")
    else:
        hostname, port_text = hostport, None
    if not hostname:
        raise TransportURLError(_(
            "Host {number} of the transport_url has no host name.", number=number))
    if port_text is None:
        return hostname, DEFAULT_PORT
    if not port_text.isdigit() or not port_text.isascii():
        raise TransportURLError(_(
            "The port \"{port}\" of host {host} is not a number.",
            port=port_text, host=hostname))
    if not 1 <= int(port_text) <= 65535:
        raise TransportURLError(_(
            "The port {port} of host {host} is out of range: it must be between 1 and 65535.",
            port=port_text, host=hostname))
    return hostname, int(port_text)


def _parse_query(text: str) -> tuple[dict[str, Value], list[str]]:
    """Options of ``[oslo_messaging_rabbit]``; a repeated option's values join with commas."""
    query: dict[str, Value] = {}
    warnings: list[str] = []
    for name, values in parse_qs(text, keep_blank_values=True).items():
        if name not in RABBIT_OPTIONS:
            message = _("Unknown option \"{name}\" in the query of the transport_url: it is not "
                        "an [oslo_messaging_rabbit] option.", name=name)
            close = difflib.get_close_matches(name, RABBIT_OPTIONS, n=1)
            if close:
                message += " " + _("Did you mean {name}?", name=close[0])
            raise TransportURLError(message)
        given = [v for v in values if v]
        if given:
            query[name] = _convert(name, ",".join(given))
        else:
            warnings.append(_("option {name} has no value: oslo.messaging ignores it",
                              name=name))
    return query, warnings


def _convert(name: str, text: str) -> Value:
    """What oslo.config's type for the option makes of the text, or one sentence why not."""
    option = RABBIT_OPTIONS[name]
    value: Value
    try:
        if option.type is bool:
            if text.lower() not in _TRUE + _FALSE:
                raise ValueError(text)
            value = text.lower() in _TRUE
        else:
            value = option.type(text)
    except ValueError:
        expected = {bool: _("true or false"), int: _("a whole number"),
                    float: _("a number")}[option.type]
        raise TransportURLError(_("Option {name} of the transport_url expects {expected}, "
                                  "not \"{value}\".", name=name, expected=expected,
                                  value=text)) from None
    if option.choices and value not in option.choices:
        raise TransportURLError(_("Option {name} of the transport_url expects one of {choices}, "
                                  "not \"{value}\".", name=name,
                                  choices=", ".join(option.choices), value=text))
    if option.min is not None and value < option.min:
        raise TransportURLError(_("Option {name} of the transport_url must be at least {limit}, "
                                  "not {value}.", name=name, limit=option.min, value=text))
    if option.max is not None and value > option.max:
        raise TransportURLError(_("Option {name} of the transport_url must be at most {limit}, "
                                  "not {value}.", name=name, limit=option.max, value=text))
    return value


def _url_warnings(driver: str, hosts: tuple[Host, ...]) -> list[str]:
    """What oslo.messaging would log, or refuse, about a URL it still parses."""
    warnings = []
    if driver == "amqp":
        warnings.append(_("oslo.messaging has no driver amqp (it is kombu's name): OpenStack "
                          "services need rabbit://"))
    if driver != "embedded" and not hosts:
        warnings.append(_("no host given: like oslo.messaging, the course connects to "
                          "localhost:5672 as guest/guest"))
    complete = [h.address for h in hosts if h.username is not None and h.password is not None]
    partial = [h.address for h in hosts if h.username is None or h.password is None]
    if complete and partial:
        warnings.append(_("hosts {complete} have a user and password but {partial} do not: "
                          "oslo.messaging expects all hosts or none to have them",
                          complete=", ".join(complete), partial=", ".join(partial)))
    return warnings


#: A URL's scheme, then everything up to a space, a quote or the next URL.
_URL = re.compile(r"""\b([A-Za-z][A-Za-z0-9+.-]*://)((?:(?![A-Za-z][A-Za-z0-9+.-]*://)[^\s'"<>])*)""")


def mask_url(text: str) -> str:
    """``text`` with every password of every URL in it replaced by ``****``.

    A password with an unencoded ``/`` is masked too: the host list is taken to end
    after its last ``@``.
    """
    return _URL.sub(lambda m: m.group(1) + _mask_rest(m.group(2)), str(text))


def _mask_rest(rest: str) -> str:
    at = rest.rfind("@")
    end = re.search(r"[/?#]|$", rest[at + 1:]).start() + at + 1
    hosts = []
    for piece in rest[:end].split(","):
        credentials, at_sign, hostport = piece.rpartition("@")
        if at_sign and ":" in credentials:
            piece = f"{credentials.partition(':')[0]}:{MASK}@{hostport}"
        hosts.append(piece)
    return ",".join(hosts) + rest[end:]


def open_connection(url: str | TransportURL, timeout: float = 5.0,
                    heartbeat: float = 0) -> kombu.Connection:
    """A connected ``kombu.Connection`` to the RabbitMQ a transport_url names.

    Like oslo.messaging, one connection holds every host and fails over from one to the
    next (oslo shuffles them first; the course keeps your order, so runs repeat).  Each
    host is tried once with an equal share of ``timeout``: kombu's own retry loop would
    go on for a minute, and a learner must hear within seconds that nothing answers.
    Heartbeats are off unless ``heartbeat`` (seconds) asks for them: a course.rpc transport
    asks for ``heartbeat_timeout_threshold`` and sends them, as oslo does; nothing would
    send them on a connection a notebook cell opened.
    """
    parsed = url if isinstance(url, TransportURL) else parse_transport_url(url)
    urls = parsed.kombu_urls()  # refuses embedded://, which course.broker opens itself
    connection = kombu.Connection(
        urls, connect_timeout=timeout / len(urls), heartbeat=heartbeat,
        transport_options={"confirm_publish": True,  # as oslo.messaging: the broker acks
                           "client_properties": {"connection_name": "openstack-course"}},
        **parsed.kombu_options())
    failures: list[str] = []

    def failed(error: BaseException, _interval: float = 0) -> None:
        failures.append(_("{address}: {reason}.",
                          address=_address(connection.hostname, connection.port),
                          reason=failure_reason(error, connection, parsed.vhost)))

    try:
        connection.ensure_connection(errback=failed, max_retries=len(urls) - 1,
                                     interval_start=0, interval_step=0, interval_max=0)
    except (OSError, KombuError, amqp.AMQPError) as error:
        failed(error)
        connection.release()
        refused = isinstance(error, (amqp.AccessRefused, amqp.NotAllowed))
        raise (BrokerRefused if refused else BrokerUnreachable)(_(
            "Cannot connect to RabbitMQ at {url}. {reasons}", url=str(parsed),
            reasons=" ".join(failures))) from None
    return connection


def failure_reason(error: BaseException, connection: kombu.Connection, vhost: str) -> str:
    """Why one host failed, in plain words, from what kombu or py-amqp raised."""
    cause = error.__cause__ if isinstance(error, KombuError) and error.__cause__ else error
    code = getattr(cause, "code", None)
    user = connection.userid or "guest"
    if isinstance(cause, amqp.AccessRefused) or code == 403:
        return _("RabbitMQ refused user {user} (ACCESS_REFUSED, 403): wrong user name or "
                 "password", user=user)
    if isinstance(cause, amqp.NotAllowed) or code == 530:
        return _("vhost {vhost} does not exist or user {user} may not use it (NOT_ALLOWED, "
                 "530): create it with `rabbitmqctl add_vhost {vhost}` and allow the user with "
                 "`rabbitmqctl set_permissions -p {vhost} {user} \".*\" \".*\" \".*\"`",
                 vhost=vhost, user=user)
    if isinstance(cause, ConnectionRefusedError):
        return _("connection refused (nothing listens there: is RabbitMQ running?)")
    if isinstance(cause, socket.gaierror):
        return _("the name {name} does not resolve (DNS): check the host name",
                 name=connection.hostname)
    if isinstance(cause, TimeoutError):
        return _("no answer within {duration} (a firewall, or not a RabbitMQ port?)",
                 duration=format_seconds(connection.connect_timeout, 1))
    return _("unexpected error: {error}", error=mask_url(str(cause) or type(cause).__name__))
