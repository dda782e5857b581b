"""Talking to a JupyterHub and the servers it spawns: REST calls and code run in a kernel."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid

__all__ = ["api", "execute"]


def api(url: str, token: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
    """``(status, JSON body)`` of a hub (or server) REST call with ``token``; 0 when nothing listens."""
    req = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}"},
                                 data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    except OSError:  # not listening yet
        return 0, {}


async def execute(ws_url: str, token: str, code: str) -> str:
    """Run ``code`` in a kernel over the Jupyter websocket protocol; returns its stdout."""
    import tornado.httpclient
    import tornado.websocket

    request = tornado.httpclient.HTTPRequest(ws_url, headers={"Authorization": f"token {token}"})
    conn = await tornado.websocket.websocket_connect(request)
    msg_id = uuid.uuid4().hex
    await conn.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }))
    out, errors = [], []
    while True:
        raw = await asyncio.wait_for(conn.read_message(), timeout=120)
        assert raw is not None, "the kernel websocket closed"
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            errors.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            break
    conn.close()
    assert not errors, errors
    return "".join(out)


def sleep_then_return(**data):
    """A compute function for hub tests (a module's, so its source can be sent from a kernel)."""
    import time

    time.sleep(data["sleep"])
    return data["sleep"]
