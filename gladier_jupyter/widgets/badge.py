"""BackendBadge: a one-line badge saying which Globus the kernel talks to."""

from __future__ import annotations

import typing as t

import traitlets

from gladier_jupyter.widgets._base import GladierWidget

__all__ = ["BackendBadge"]


class BackendBadge(GladierWidget):
    """Shows the current backend: the local service (offline) or Globus (cloud)."""

    _entry = "badge"

    backend = traitlets.Unicode("local").tag(sync=True)
    detail = traitlets.Unicode("").tag(sync=True)

    def _repr_mimebundle_(self, **kwargs: t.Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        data = dict(data)
        data["text/plain"] = f"gladier backend: {self.backend}" + (
            f" ({self.detail})" if self.detail else ""
        )
        return data, metadata
