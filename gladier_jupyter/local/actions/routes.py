"""The ``actions`` API: each action provider's introspection document, ``GET <ActionUrl>/``
of the Action Provider API (https://action-provider-tools.readthedocs.io/), at
``/api/actions/<host>/<path>/`` (``.../api/actions/transfer.actions.globus.org/ls/``)."""

from __future__ import annotations

import typing as t

from gladier_jupyter.local import actions
from gladier_jupyter.local._http import ApiHandler, ServiceContext
from gladier_jupyter.local.actions import ActionProviderError

__all__ = ["routes"]


class IntrospectHandler(ApiHandler):
    error_class = ActionProviderError

    def get(self, address: str) -> None:
        url = "https://" + address
        doc = actions.introspect(url)
        if doc is None:
            raise ActionProviderError(f"No action provider answers {url[:120]!r} in the local service; it provides "
                                      f"{actions.known_urls()}.", http_status=404, code="NotFound")
        self.write_json(doc)


def routes(ctx: ServiceContext) -> list[tuple[str, type[ApiHandler], dict[str, t.Any]]]:
    return [(r"([A-Za-z0-9.-]+(?:/[A-Za-z0-9_.-]+)*)/?", IntrospectHandler, {})]
