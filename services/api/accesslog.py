"""The gateway's access log: gunicorn's, with credentials taken out of every field.

A client may put its token in the query string (``?access_token=…``): the gateway
refuses it, but gunicorn would still write the request line verbatim. Chosen with
``logger_class = "services.api.accesslog.RedactingLogger"`` in ``gunicorn.conf.py``.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from shared.redact import REDACTED, is_secret_name, redact_secret_params, redact_urls

# Header atoms are "{name}i", environ ones "{name}e"; cookies carry sessions though
# their names say nothing of it.
_COOKIES = frozenset({"{cookie}i", "{set-cookie}o", "{http_cookie}e"})


class RedactingLogger(Logger):
    """gunicorn's logger whose access-log atoms never hold a credential.

    Secret-named query parameters (see :func:`shared.redact.is_secret_name`) read
    ``REDACTED`` in the request line, the query, the referer and any other field that
    holds a URL; URL userinfo is removed; headers named like a credential
    (``Authorization``, ``X-Api-Key``…) and cookies read ``REDACTED``, whatever the
    access-log format asks for; the user (which gunicorn takes from a Basic
    ``Authorization``, often an API key) is never shown.
    """

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        """Return gunicorn's atoms for the request, credentials redacted."""
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if name in _COOKIES or (name.startswith("{") and is_secret_name(name)):
                atoms[name] = REDACTED
            elif isinstance(value, str):
                atoms[name] = redact_secret_params(redact_urls(value))
        atoms["u"] = "-"
        return atoms
