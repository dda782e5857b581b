"""The RunMonitor's debug loop: replay a state in the kernel, re-run from a state, the parent link.

A failed state can be replayed here, in the kernel, with the exact arguments the run
passed (:meth:`DebugLoop.replay`; the state pane's "Replay" button shows its prints, then
its result or its traceback, in ``debug_text``); any state can start a new run of the
same flow with the data it started with, edited or not (:meth:`DebugLoop.rerun_from`;
the pane's "Re-run from here" form), with the notebook's current compute functions; and a
re-run names the run it came from (``parent``). The monitor mixes this in; what it needs
of the monitor is declared below.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import typing as t

from gladier_jupyter import monitor as _monitor
from gladier_jupyter.errors import GladierJupyterError, GladierJupyterUsageError
from gladier_jupyter.widgets.debug import parent_of, parse_run_data
from gladier_jupyter.widgets.run_inputs import _short_error

log = logging.getLogger("gladier_jupyter.widgets.monitor")

__all__ = ["DebugLoop"]


class DebugLoop:
    """The RunMonitor's debug-loop methods and the state pane's replay and re-run handlers."""

    # What the debug loop uses of the monitor (its traits and its watcher).
    run_id: str
    label: str
    backend: str
    action: str
    parent: dict[str, t.Any]
    rerun_form: dict[str, t.Any]
    debug_text: str
    debug_output: t.Any
    refresh: t.Callable[[], t.Any]
    _client: t.Any
    _flows_client: t.Any
    _watcher: _monitor.RunWatcher
    _parent_checked: bool

    def replay(self, state: str, task: int = 0, user_ns: t.Mapping[str, t.Any] | None = None) -> t.Any:
        """Call compute state ``state``'s function here, in the kernel, with exactly the
        arguments the run passed (from its log); the function is the notebook's current
        one, so a fixed ``%%gladier_tool`` cell replays with the fix. Raises what it raises.

        In [1]: monitor.replay("GatherMetadata")
        """
        from gladier_jupyter.inline.replay import replay

        if not self._watcher.model.entries:
            self.refresh()
        return replay(list(self._watcher.model.entries), state, _user_namespace() if user_ns is None else user_ns, task=task)

    def state_input(self, state: str) -> dict[str, t.Any]:
        """The run data state ``state`` (last) started with."""
        from gladier_jupyter.backend import debugging

        found = debugging.state_inputs(self.run_id, flows_client=self._flows_client,
                                       definition=self._watcher.model.definition or None)
        if state not in found:
            raise GladierJupyterUsageError(
                f"Run {self.run_id} never started state {state!r}; states it started: "
                f"{', '.join(found) or 'none'}.")
        return found[state]

    def rerun_from(self, state: str, data: t.Any = None, *, label: str | None = None,
                   show: bool = True) -> t.Self:
        """A new run of the same flow starting at ``state`` with the run data that state
        started with (or ``data``, e.g. edited); returns (and shows) its monitor. On
        Globus a derived flow whose StartAt is ``state`` is deployed first (said first).

        In [1]: monitor.rerun_from("GatherMetadata")
        """
        from gladier_jupyter.backend import debugging

        def notice(text: str) -> None:
            self.action = text
            print(text)

        data = self._with_current_functions(state, data, notice)
        run = debugging.rerun_from(self.run_id, state, data, label=label,
                                   flows_client=self._flows_client, notice=notice)
        make = t.cast(t.Callable[..., t.Self], type(self))  # the monitor class mixing this in
        child = make(run, client=self._client)
        child.parent = {"run_id": self.run_id, "label": self.label, "state_name": state}
        if show:
            from IPython.display import display

            display(child)
        return child

    def _with_current_functions(self, state: str, data: t.Any, notice: t.Callable[[str], None]) -> t.Any:
        """The start data with the function ids of compute functions the notebook has
        changed since the run replaced by those functions registered now (the run data
        names the code a compute state runs: without this a fixed cell would re-run the
        old code); ``data`` itself when nothing changed (``None``: the run's own data)."""
        from gladier_jupyter.inline.replay import refresh_function_ids

        try:
            recorded = self.state_input(state)
        except GladierJupyterUsageError:
            return data  # the state never started; rerun_from says so
        fresh, replaced = refresh_function_ids(recorded if data is None else data, _user_namespace(),
                                               recorded=recorded)
        if not replaced:
            return data
        notice(f"Re-running with the notebook's current code: registered anew and replaced "
               f"{', '.join(replaced)} in the run data.")
        return fresh

    def _replay_to_pane(self, state: str) -> None:
        """Replay ``state`` for the state pane's button: its prints, then its result or
        its traceback (from the notebook's own frames on), as ``debug_text``. After an
        exception ``%debug`` in a cell opens it, as after a cell that raised."""
        import sys
        import traceback

        head = (f"Replaying {state} of run {self.label or self.run_id} in the kernel "
                "(after an exception, %debug in a cell opens it)...\n")
        self.debug_text = head
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            try:
                result = self.replay(state)
            except GladierJupyterError as err:
                tail = f"{err}\n"
            except Exception as err:  # noqa: BLE001 - the user's function raised: shown, as a cell shows it
                sys.last_type, sys.last_value, sys.last_traceback = type(err), err, err.__traceback__
                tb = err.__traceback__
                while tb is not None and tb.tb_next is not None and _is_ours(tb.tb_frame.f_code.co_filename):
                    tb = tb.tb_next  # from the notebook's frames on: the package's own say nothing
                tail = "Traceback (most recent call last):\n" + "".join(
                    traceback.format_list(traceback.extract_tb(tb))) + "".join(
                    traceback.format_exception_only(type(err), err))
            else:
                tail = f"Result: {result!r}\n"
        self.debug_text = head + printed.getvalue() + tail

    def _on_debug_msg(self, kind: str, content: dict[str, t.Any]) -> None:
        state = str(content.get("state") or "")
        if kind == "replay":
            self._replay_to_pane(state)
        elif kind == "rerun_prepare":
            try:
                text = json.dumps(self.state_input(state), indent=2)
                self.rerun_form = {"state": state, "input": text, "error": "",
                                   "notice": "" if self.backend == "local" else
                                   "On Globus this deploys a derived flow whose StartAt is this state."}
            except GladierJupyterError as err:
                self.rerun_form = {"state": state, "input": "{}", "error": str(err), "notice": ""}
        elif kind == "rerun":
            try:
                data = parse_run_data(str(content.get("input") or ""), f"the run data for {state}")
            except GladierJupyterUsageError as err:
                self.rerun_form = {**self.rerun_form, "input": str(content.get("input") or ""), "error": str(err)}
                return
            self.rerun_form = {}
            notices: list[str] = []
            try:
                with contextlib.redirect_stdout(io.StringIO()) as printed:
                    child = self.rerun_from(state, data, show=False)
                notices = printed.getvalue().splitlines()
            except Exception as err:  # noqa: BLE001 - a refusal (bad data, the service's answer), shown in the pane
                self.debug_text = f"Re-run from {state} failed: {_short_error(err)}"
                return
            self.debug_text = "\n".join([*notices, f"Started run {child.label or child.run_id} (below)."])
            self.debug_output = child
        elif kind == "rerun_cancel":
            self.rerun_form = {}

    def _check_parent(self, model: _monitor.RunModel) -> None:
        """Fill ``parent`` from a re-run's tags (once the run document is known)."""
        if self._parent_checked or self.parent or not model.run:
            return
        self._parent_checked = True
        link = parent_of(model.run)
        if not link:
            return
        label = ""
        try:
            label = str(_monitor.response_data(self._flows_client.get_run(link["run_id"])).get("label") or "")
        except Exception:  # the parent may be gone (released); its id serves
            log.debug("reading the parent run %s failed", link["run_id"], exc_info=True)
        self.parent = {"run_id": link["run_id"], "label": label, "state_name": link.get("state_name", "")}


def _is_ours(filename: str) -> bool:
    """Whether a traceback frame's file is this package's (not the notebook's code)."""
    import os

    return filename.startswith(os.path.dirname(os.path.dirname(__file__)) + os.sep)


def _user_namespace() -> t.Mapping[str, t.Any]:
    """The notebook's namespace (where ``%%gladier_tool`` defines tools)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        return shell.user_ns
    import __main__

    return vars(__main__)
