"""Fault injection for the local service: make a share of requests to chosen APIs fail.

Off unless ``$GLADIER_JUPYTER_FAULTS`` is set in the service's environment (it is read once,
when the service process imports this module). The value is one or more rules separated by
``;``::

    GLADIER_JUPYTER_FAULTS="flows:0.2:500,502,503,429,delay,drop"
    GLADIER_JUPYTER_FAULTS="flows@GET:0.3:503;compute:0.1:drop"

Each rule is ``API[@METHOD]:SHARE:KIND,KIND...``: ``API`` is one of the mounted APIs
(``flows``, ``compute``, ``search``, ``transfer``, ``auth``) or ``*``; ``@METHOD``
optionally limits it to one HTTP method; ``SHARE`` is the probability (0..1) that a
request is hit; the kind of each hit is drawn evenly from the list:

- ``500``, ``502``, ``503``, ``504``: that status with the API's own JSON error body;
- ``429``: too many requests, with ``Retry-After`` (``$GLADIER_JUPYTER_FAULTS_RETRY_AFTER``
  seconds, default 1);
- ``delay``: hold the request ``$GLADIER_JUPYTER_FAULTS_DELAY`` seconds (default 65, past
  globus-sdk's 60 s client timeout), then close the connection without an answer;
- ``drop``: close the connection at once without an answer;
- ``lost``: run the request, then close the connection instead of answering (the answer
  was lost on its way back: what a client's retry of a non-idempotent POST runs into).

Every kind but ``lost`` replaces the request: the handler never runs, so nothing is
created, changed or started by it (the request was lost on its way to the service). Only
requests that passed the secret check are faulted, ``/api/health`` never is, and
``$GLADIER_JUPYTER_FAULTS_SEED`` makes the draws repeatable. Every injected fault is
logged (``gladier_jupyter.local.faults``) to the service log as
``injected fault <kind> <METHOD> <path>``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import threading
import typing as t

__all__ = ["ENV", "FaultRule", "FaultPlan", "parse", "plan", "inject"]

ENV = "GLADIER_JUPYTER_FAULTS"
KINDS = ("500", "502", "503", "504", "429", "delay", "drop", "lost")
_APIS = ("flows", "compute", "search", "transfer", "auth", "*")

log = logging.getLogger("gladier_jupyter.local.faults")


class FaultSpecError(ValueError):
    """``$GLADIER_JUPYTER_FAULTS`` does not follow ``API[@METHOD]:SHARE:KIND,...``."""


@dataclasses.dataclass(frozen=True)
class FaultRule:
    api: str
    method: str | None
    share: float
    kinds: tuple[str, ...]

    def applies(self, api: str, method: str) -> bool:
        return self.api in ("*", api) and (self.method is None or self.method == method)


@dataclasses.dataclass
class FaultPlan:
    rules: list[FaultRule]
    delay: float = 65.0
    retry_after: int = 1
    seed: int | None = None
    counts: dict[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self, api: str, method: str) -> str | None:
        """The fault for one request, or ``None``; counted in ``counts`` by kind."""
        for rule in self.rules:
            if not rule.applies(api, method):
                continue
            with self._lock:
                if self._rng.random() >= rule.share:
                    return None
                kind = self._rng.choice(rule.kinds)
                self.counts[kind] = self.counts.get(kind, 0) + 1
            return kind
        return None


def parse(spec: str, *, delay: float = 65.0, retry_after: int = 1,
          seed: int | None = None) -> FaultPlan:
    """The plan of a ``$GLADIER_JUPYTER_FAULTS`` value; :class:`FaultSpecError` if malformed."""
    rules = []
    for raw in (part.strip() for part in spec.split(";")):
        if not raw:
            continue
        fields = raw.split(":")
        if len(fields) != 3:
            raise FaultSpecError(
                f"{ENV} rule {raw!r} must read API[@METHOD]:SHARE:KIND,... "
                "(e.g. 'flows:0.2:500,429,drop')."
            )
        target, share_text, kinds_text = fields
        api, _, method = target.partition("@")
        api = api.strip().lower()
        if api not in _APIS:
            raise FaultSpecError(f"{ENV} rule {raw!r} names API {api!r}; use one of {', '.join(_APIS)}.")
        try:
            share = float(share_text)
        except ValueError:
            raise FaultSpecError(f"{ENV} rule {raw!r} has share {share_text!r}; use a number from 0 to 1.") from None
        if not 0.0 <= share <= 1.0:
            raise FaultSpecError(f"{ENV} rule {raw!r} has share {share}; use a number from 0 to 1.")
        kinds = tuple(k.strip().lower() for k in kinds_text.split(",") if k.strip())
        bad = [k for k in kinds if k not in KINDS]
        if bad or not kinds:
            raise FaultSpecError(f"{ENV} rule {raw!r} has fault kinds {bad or kinds_text!r}; use {', '.join(KINDS)}.")
        rules.append(FaultRule(api, method.strip().upper() or None, share, kinds))
    return FaultPlan(rules, delay=delay, retry_after=retry_after, seed=seed)


def _from_env() -> FaultPlan | None:
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    seed = os.environ.get(f"{ENV}_SEED")
    result = parse(
        spec,
        delay=float(os.environ.get(f"{ENV}_DELAY", "65")),
        retry_after=int(os.environ.get(f"{ENV}_RETRY_AFTER", "1")),
        seed=int(seed) if seed else None,
    )
    log.warning("Fault injection is ON: %s", spec)
    return result


_plan: FaultPlan | None = None
_loaded = False


def plan() -> FaultPlan | None:
    """This process's plan (from the environment), or ``None`` when faults are off."""
    global _plan, _loaded
    if not _loaded:
        _plan, _loaded = _from_env(), True
    return _plan


def inject(handler: t.Any) -> t.Awaitable[None] | None:
    """Called by ``ApiHandler.prepare`` after the secret check: answer the request with a
    fault (and so skip the handler), or return ``None`` to let it through."""
    current = plan()
    if current is None:
        return None
    parts = handler.request.path.split("/")
    if len(parts) < 4 or parts[1] != "api":  # /api/<name>/...; /api/health is never hit
        return None
    kind = current.draw(parts[2], handler.request.method)
    if kind is None:
        return None
    log.warning("injected fault %s %s %s", kind, handler.request.method, handler.request.path)
    if kind == "drop":
        _drop(handler)
        return None
    if kind == "lost":
        handler.finish = lambda *args, **kwargs: _drop(handler)
        return None
    if kind == "delay":
        return _delay_then_drop(handler, current.delay)
    status = int(kind)
    error = handler.error_class(f"Injected fault: {status}.", http_status=status, code="INJECTED_FAULT")
    handler.set_status(status)
    handler.set_header("Content-Type", "application/json")
    if status == 429:
        handler.set_header("Retry-After", str(current.retry_after))
    import json

    handler.finish(json.dumps(error.body()))
    return None


def _drop(handler: t.Any) -> None:
    handler._finished = True  # the handler must not run, nor answer on a closed stream
    handler.request.connection.stream.close()


async def _delay_then_drop(handler: t.Any, seconds: float) -> None:
    await asyncio.sleep(seconds)
    _drop(handler)
