"""The ``actions`` API: each action provider's introspection document, ``GET <ActionUrl>/``
of the Action Provider API (https://action-provider-tools.readthedocs.io/), at
``/api/actions/<host>/<path>/`` (``.../api/actions/transfer.actions.globus.org/ls/``); the
Wait For User Selection addresses at the same place
(``.../api/actions/actions.globus.org/weboption/option/<url_suffix>``); and what the hosted
providers recorded: ``outbox`` (notification emails), ``dois`` (minted DOIs) and
``weboption/waiting`` (selections still waiting), each filtered by ``?run_id=``.
"""

from __future__ import annotations

import re
import typing as t

from gladier_jupyter.local import actions
from gladier_jupyter.local._http import ApiHandler, ServiceContext
from gladier_jupyter.local.actions import ActionProviderError, weboption
from gladier_jupyter.local.actions.store import store_for

__all__ = ["routes"]

_WEBOPTION = re.compile(r"^(?:actions\.globus\.org|actions\.automate\.globus\.org)/weboption/(option|landing_page)/(.+)$")


def _limit(handler: ApiHandler) -> int:
    raw = handler.get_query_argument("limit", "100") or "100"
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise ActionProviderError(f"limit is {raw[:20]!r}; use a whole number from 1 to 1000.",
                                  http_status=400, code="BadRequest")
    return int(raw)


class IntrospectHandler(ApiHandler):
    error_class = ActionProviderError

    def _weboption(self, kind: str, suffix: str) -> None:
        if kind == "option":
            query = {k: self.get_query_argument(k) for k in self.request.query_arguments}
            answer = weboption.select(self.ctx, suffix, query or None)
        else:
            answer = weboption.landing_page(self.ctx, suffix)
        if answer is None:
            # As Globus's provider: once an option was selected, none of the action's
            # addresses answers.
            raise ActionProviderError(f"No selection waits at weboption/{kind}/{suffix[:80]}: it was made "
                                      "already, or never registered.", http_status=404, code="NotFound")
        self.write_json(answer)

    def get(self, address: str) -> None:
        found = _WEBOPTION.match(address)
        if found:
            self._weboption(*found.groups())
            return
        url = "https://" + address
        doc = actions.introspect(url)
        if doc is None:
            raise ActionProviderError(f"No action provider answers {url[:120]!r} in the local service; it provides "
                                      f"{actions.known_urls()}.", http_status=404, code="NotFound")
        self.write_json(doc)

    def post(self, address: str) -> None:
        found = _WEBOPTION.match(address)
        if not found or found.group(1) != "option":
            raise ActionProviderError(f"The local service has no POST {address[:120]}.", http_status=404,
                                      code="NotFound")
        self._weboption(*found.groups())


class OutboxHandler(ApiHandler):
    """``GET /api/actions/outbox``: the notification emails, newest first."""

    error_class = ActionProviderError

    def get(self) -> None:
        messages = store_for(self.ctx).messages(self.get_query_argument("run_id", None), _limit(self))
        self.write_json({"messages": messages})


class DoisHandler(ApiHandler):
    error_class = ActionProviderError

    def get(self) -> None:
        self.write_json({"dois": store_for(self.ctx).dois(_limit(self))})


class WaitingHandler(ApiHandler):
    error_class = ActionProviderError

    def get(self) -> None:
        self.write_json({"waiting": weboption.waiting(self.ctx, self.get_query_argument("run_id", None))})


def routes(ctx: ServiceContext) -> list[tuple[str, type[ApiHandler], dict[str, t.Any]]]:
    return [
        (r"outbox/?", OutboxHandler, {}),
        (r"dois/?", DoisHandler, {}),
        (r"weboption/waiting/?", WaitingHandler, {}),
        (r"([A-Za-z0-9.-]+(?:/[A-Za-z0-9_.~-]+)*)/?", IntrospectHandler, {}),
    ]
