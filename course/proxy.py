"""RabbitMQ's management UI inside JupyterLab: a "RabbitMQ" launcher entry through
jupyter-server-proxy (entry point ``jupyter_serverproxy_servers`` in pyproject.toml).

It proxies ``<base_url>/rabbitmq/`` to the node ``binder/start`` started, whose address
is ``$COURSE_MANAGEMENT_URL`` (the launcher entry only shows when it is set), and logs in
for the learner without putting any password in a URL or in the browser:

* every request to the node gets an ``Authorization`` header with the credentials of
  ``$COURSE_TRANSPORT_URL`` (``request_headers_override``), replacing the browser's;
* the UI's page gets one line of script that records a placeholder login in the UI's own
  cookie (its ``set_auth_pref``), so the UI skips its login form and the proxy's header
  does the authenticating.  A UI that lacks that function shows its login form instead.

Known limit: jupyter-server-proxy decodes ``%2F`` in the proxied path
(jupyterhub/jupyter-server-proxy#510), so the UI's pages of one object of vhost ``/``
(``api/queues/%2F/<name>``) answer "Not Found" through the proxy; the overview and the
lists of connections, channels, exchanges and queues work.

Only the jupyter server imports this module, at start-up: it needs nothing but the
standard library.
"""

from __future__ import annotations

import os
from base64 import b64encode
from urllib.parse import unquote, urlsplit

#: The same names as course.topology.MANAGEMENT_ENV_VAR and course.broker.ENV_VAR.
MANAGEMENT_ENV_VAR = "COURSE_MANAGEMENT_URL"
TRANSPORT_ENV_VAR = "COURSE_TRANSPORT_URL"
TITLE = "RabbitMQ"

#: Skip the UI's login form: the credentials are the proxy's, never the page's.
LOG_IN = (b"<script>if (typeof set_auth_pref === 'function' && typeof has_auth_cookie_value"
          b" === 'function' && !has_auth_cookie_value()) { set_auth_pref('course:proxy'); }"
          b"</script>")


def credentials() -> tuple[str, str]:
    """The node's user and password: the transport_url's (guest, as RabbitMQ's default)."""
    parts = urlsplit(os.environ.get(TRANSPORT_ENV_VAR, ""))
    return unquote(parts.username or "guest"), unquote(parts.password or "guest")


def management_port() -> int | None:
    """The port of $COURSE_MANAGEMENT_URL when it names a node on this machine."""
    parts = urlsplit(os.environ.get(MANAGEMENT_ENV_VAR, ""))
    if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
        return None
    return parts.port


def log_in(response, path: str) -> None:
    """``rewrite_response``: add :data:`LOG_IN` to the UI's HTML page."""
    kind = response.headers.get("Content-Type", "")
    if kind.startswith("text/html") and b"</body>" in response.body:
        response.body = response.body.replace(b"</body>", LOG_IN + b"</body>", 1)


def rabbitmq() -> dict:
    """jupyter-server-proxy's configuration of the "RabbitMQ" entry."""
    port = management_port()
    user, password = credentials()
    token = b64encode(f"{user}:{password}".encode()).decode()
    return {
        "command": [],  # binder/start started the node already
        "port": port or 15672,
        "absolute_url": False,
        "timeout": 5,
        "request_headers_override": {"Authorization": f"Basic {token}"},
        "rewrite_response": log_in,
        "launcher_entry": {"enabled": port is not None, "title": TITLE},
        "new_browser_tab": False,  # a tab of JupyterLab
    }
