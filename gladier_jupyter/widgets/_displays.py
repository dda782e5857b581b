"""Shown under display ids of its own, so every output it was shown in can be refreshed.

A widget mixing this in is displayed with a display id per output (``_ipython_display_``);
:meth:`FollowedDisplays.update_displays` later replaces the bundle of each of those outputs
with the widget's current one, by display id (``update_display_data``): no output is added
to the cell running at the time. What a saved notebook, nbconvert or GitHub show is that
bundle's static part, so it can follow the widget (a run's final state, the drawing the
live view made).
"""

from __future__ import annotations

import threading
import typing as t
import uuid

__all__ = ["FollowedDisplays"]


class FollowedDisplays:
    """``_ipython_display_`` under a fresh display id, and ``update_displays``.

    The widget sets ``_display_ids`` (an empty list) and ``_display_lock`` in its
    ``__init__``; a bundle is made and its display id recorded under that lock, so an
    update running meanwhile also reaches the new output.
    """

    _display_prefix: t.ClassVar[str] = "gladier-widget"
    _display_ids: list[str]
    _display_lock: threading.Lock | threading.RLock
    _repr_mimebundle_: t.Callable[..., tuple[dict[str, t.Any], dict[str, t.Any]]]

    def _ipython_display_(self, **kwargs: t.Any) -> None:
        from IPython.display import display

        display_id = f"{self._display_prefix}-{uuid.uuid4().hex}"
        with self._display_lock:
            data, metadata = self._repr_mimebundle_()
            self._display_ids.append(display_id)
            display(data, metadata=metadata, raw=True, display_id=display_id)

    def update_displays(self) -> int:
        """Refresh every output this was displayed in with its current bundle; how many."""
        from IPython.core.interactiveshell import InteractiveShell
        from IPython.display import update_display

        with self._display_lock:
            ids = list(self._display_ids)
            if not ids or not InteractiveShell.initialized():
                return 0
            data, metadata = self._repr_mimebundle_()
            for display_id in ids:
                update_display(data, metadata=metadata, raw=True, display_id=display_id)
        return len(ids)
