"""``/api/clock``: read the service clock (``GET``) or move it (``POST``).

``POST`` takes one of ``{"advance": seconds}``, ``{"next_timer": true}``,
``{"speed": factor}`` or ``{"reset": true}`` and answers the clock as ``GET`` does
(``now``, ``epoch``, ``offset_seconds``, ``speed``, ``next_timer``, ``next_timer_in_seconds``),
plus ``fired`` for ``next_timer`` (the service time it jumped to, or ``null``).
"""

from __future__ import annotations

import typing as t

from gladier_jupyter.local._http import ApiError, ApiHandler, ServiceContext
from gladier_jupyter.local.clock.service import ClockUsageError, clock_of

__all__ = ["routes"]

_ACTIONS = ("advance", "next_timer", "speed", "reset")


class ClockHandler(ApiHandler):
    error_class = ApiError

    def get(self) -> None:
        self.write_json(clock_of(self.ctx).describe())

    def post(self) -> None:
        body = self.json_body()
        asked = [k for k in _ACTIONS if isinstance(body, dict) and k in body]
        if not isinstance(body, dict) or len(asked) != 1 or set(body) - set(_ACTIONS):
            shown = str(sorted(body) if isinstance(body, dict) else body)[:80]
            raise ApiError(f"POST /api/clock takes exactly one of {', '.join(_ACTIONS)}, not {shown}; "
                           'e.g. {"advance": 3600}.', http_status=400, code="BAD_REQUEST")
        clock = clock_of(self.ctx)
        fired: t.Any = None
        try:
            if "advance" in body:
                clock.advance(body["advance"])
            elif "speed" in body:
                clock.set_speed(body["speed"])
            elif "next_timer" in body:
                fired = clock.next_timer()
            else:
                self._check_nothing_waits()
                clock.reset()
        except ClockUsageError as exc:
            raise ApiError(str(exc), http_status=400, code="BAD_REQUEST") from None
        doc = clock.describe()
        if "next_timer" in body:
            doc["fired"] = fired
        self.write_json(doc)

    def _check_nothing_waits(self) -> None:
        flows = self.ctx.services.get("flows")
        if flows is None:
            return
        waiting = [*flows.store.run_ids_with_status("ACTIVE"), *flows.store.run_ids_with_status("INACTIVE")]
        if waiting:
            raise ApiError(f"The clock cannot be reset while {len(waiting)} run(s) are ACTIVE or INACTIVE "
                           f"(e.g. {waiting[0]}): time would go back under them; cancel them or let them "
                           "end first, or use speed(1) to go on at real speed.", http_status=409, code="CONFLICT")


def routes(ctx: ServiceContext) -> list[tuple[str, type, dict[str, t.Any]]]:
    return [("/?", ClockHandler, {})]
