"""A minimal JSON client of the running local service for this package's own helpers
(``outbox()``, ``select_option()``...): the service's certificate pinned, its secret sent
only once the TLS handshake proved the server holds the folder's key."""

from __future__ import annotations

import http.client
import json
import typing as t
import urllib.parse

from gladier_jupyter.local import ServiceInfo

__all__ = ["call"]


def call(info: ServiceInfo, method: str, path: str, query: dict[str, t.Any] | None = None,
         timeout: float = 30.0, body: t.Any = None,
         form: dict[str, str] | None = None) -> tuple[int, t.Any]:
    """``(status, JSON body)`` of ``method /api/<path>`` (with ``body`` as JSON, or ``form``
    as an HTML form, as OAuth2's endpoints read it, if given) on the service ``info`` names."""
    from gladier_jupyter.local import tls

    parsed = urllib.parse.urlsplit(info.base_url)
    context = tls.client_context(info.ca_file) if info.ca_file else None
    conn = http.client.HTTPSConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=timeout, context=context)
    target = "/api/" + path.lstrip("/")
    if query:
        target += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
    try:
        headers = {"Authorization": f"Bearer {info.secret}", "Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            payload = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, target, body=payload, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, json.loads(body) if body else None
    finally:
        conn.close()
