"""FlowPreview: a flow as an interactive graph, checked before any run."""

from __future__ import annotations

import copy
import json
import threading
import typing as t

import traitlets

from gladier_jupyter import flowdef
from gladier_jupyter.errors import GladierJupyterError, GladierJupyterUsageError
from gladier_jupyter.flowdef import Problem
from gladier_jupyter.flowgraph import FlowGraph, diff_model
from gladier_jupyter.flowgraph.svg import UnsafeSVG, sanitize_svg
from gladier_jupyter.widgets._base import GladierWidget
from gladier_jupyter.widgets._displays import FollowedDisplays
from gladier_jupyter.widgets.debug import parse_run_data

__all__ = ["FlowPreview", "FLOW_MIME"]

#: Mime type of the definition + graph model, for a JupyterLab mime renderer.
FLOW_MIME = "application/vnd.gladier.flow+json"


def _endpoint_warnings(flow_input: t.Any) -> list[Problem]:
    if flow_input is None:
        return []
    from gladier_jupyter.backend import preflight

    try:
        lines = preflight.version_warnings(flow_input)
    except Exception:  # noqa: BLE001 - a check that cannot run shows nothing
        return []
    return [Problem(code="endpoint_versions", message=line, path="$.input", severity="warning")
            for line in lines]


class FlowPreview(FollowedDisplays, GladierWidget):
    """The flow of a gladier client or tool, a definition dict, JSON/YAML text or a path.

    Shows the states as a layered graph (click one for its JSON, the input it reads, its
    compute function's source and where its result goes), the definition's problems, and
    the table of ``$.input`` keys the flow reads; ``check(flow_input)`` fills in which the
    run input provides. Outside a live kernel it shows as SVG (``to_svg()``): the drawing
    the live view made (sent back by the page, sanitized), or where no view ever drew
    (nbconvert, nbclient), one drawn in Python. Shown under display ids of its own
    (:class:`._displays.FollowedDisplays`): once the live view reports its drawing, every
    output the preview was shown in gets it in place of the Python-drawn SVG; the
    widget-view entry stays, so the live view stays.
    """

    _display_prefix = "gladier-preview"
    _entry = "preview"

    graph = traitlets.Dict().tag(sync=True)
    problems: traitlets.List[dict[str, t.Any]] = traitlets.List().tag(sync=True)
    inputs: traitlets.List[t.Any] = traitlets.List().tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Int(460).tag(sync=True)
    #: bumped with each new graph; a view's drawing counts only for the revision it drew
    revision = traitlets.Int(0).tag(sync=True)
    #: the definition diff shown on the graph (``DefinitionDiff.to_dict()`` plus ``against``,
    #: what it compares with); empty when the preview shows the flow alone
    changes = traitlets.Dict().tag(sync=True)
    #: the last state test: the local service's answer (``steps``, ``output``,
    #: ``next_state``, ``error``...), or ``{"state_name", "error_message"}`` when refused
    test_result = traitlets.Dict().tag(sync=True)
    #: run data offered in the state-test form (JSON text)
    test_input = traitlets.Unicode("{}").tag(sync=True)

    def __init__(self, x: t.Any, *, flow_input: t.Any = None, height: int = 460,
                 **kwargs: t.Any) -> None:
        self.flow = FlowGraph.build(x, flow_input)
        self._subject = x
        #: (old definition, diff, what it is) while the graph shows a diff
        self._diff: tuple[t.Any, flowdef.DefinitionDiff, str] | None = None
        #: the run input's compute endpoints whose Python / SDK differ from this kernel's
        self.endpoint_warnings: list[Problem] = _endpoint_warnings(flow_input)
        #: Layout and draw times (ms) the last view reported; empty until a view renders.
        self.render_timings: dict[str, float] = {}
        #: The live view's drawing of the current revision (sanitized), once a view drew it.
        self.drawn_svg: str | None = None
        #: Why the last drawing a view sent was refused ("" if none was).
        self.drawn_svg_error = ""
        #: ids of the outputs this preview was displayed in (see ``_ipython_display_``)
        self._display_ids: list[str] = []
        self._display_lock = threading.Lock()
        # the first state goes out with the widget's creation, not as a later update
        super().__init__(height=height, **self._state(), **kwargs)
        self.on_msg(self._on_view_message)
        if isinstance(flow_input, dict):
            self.test_input = json.dumps(flow_input, indent=2, default=str)

    def _state(self) -> dict[str, t.Any]:
        # a copy: the model is updated in place, and traitlets only syncs a new value
        if self._diff is not None:
            old, diff, against = self._diff
            graph = diff_model(old, self.flow, diff)
            changes = {**diff.to_dict(), "against": against}
        else:
            graph, changes = copy.deepcopy(self.flow.model), {}
        return {"graph": graph, "changes": changes,
                "problems": [p.to_dict() for p in [*self.flow.problems, *self.endpoint_warnings]],
                "inputs": list(self.flow.inputs)}

    def _sync(self) -> None:
        with self.hold_sync():
            self.drawn_svg = None  # drawn for the graph before this one
            self.revision += 1
            for name, value in self._state().items():
                setattr(self, name, value)

    def _on_view_message(self, _widget: t.Any, content: t.Any, _buffers: t.Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("event") == "rendered":
            try:
                self.render_timings = {"layout_ms": float(content.get("layout_ms", 0)),
                                       "draw_ms": float(content.get("draw_ms", 0))}
            except (TypeError, ValueError):
                pass
        elif content.get("event") == "test_state":
            name = str(content.get("state") or "")
            try:
                data = parse_run_data(str(content.get("input") or ""), f"the run data for {name}")
                self.test_input = str(content.get("input"))
                self.test_state(name, data)
            except GladierJupyterError as err:
                self.test_result = {"state_name": name, "error_message": str(err)}
            except Exception as err:  # noqa: BLE001 - the service's refusal, shown on the form
                self.test_result = {"state_name": name, "error_message": _one_line(err)}
        elif content.get("event") == "drawn":
            if content.get("revision") != self.revision:
                return  # a drawing of an earlier graph, arriving late
            try:
                drawn = sanitize_svg(content.get("svg"))
            except UnsafeSVG as err:
                self.drawn_svg_error = str(err)
                return
            self.drawn_svg_error = ""
            if drawn != self.drawn_svg:
                self.drawn_svg = drawn
                self.update_displays()

    @traitlets.validate("selected")
    def _check_selected(self, proposal: t.Any) -> str:
        name = proposal["value"]
        if name and name not in {n["id"] for n in self.flow.nodes}:
            raise traitlets.TraitError(f"FlowPreview has no state {name!r}.")
        return name

    # -- the public surface --------------------------------------------------------------
    @property
    def definition(self) -> t.Any:
        return self.flow.definition

    def test_state(self, state: str, data: t.Any, *, flows_client: t.Any = None) -> dict[str, t.Any]:
        """Run state ``state`` alone against the run data ``data`` on the local service; the
        answer lists each step (InputPath, Parameters resolved, the action request and
        result, ResultPath, a Choice's rule and next state) and is shown in the state pane.

        In [1]: preview.test_state("GatherMetadata", {"input": {"name": "x"}})
        """
        from gladier_jupyter.backend import debugging

        if state not in (self.definition.get("States") or {}):
            raise GladierJupyterUsageError(
                f"The flow has no state {state!r}; its states are {', '.join(self.definition.get('States') or {})}.")
        answer = debugging.test_state(state, data, definition=self.definition, flows_client=flows_client)
        self.test_result = answer
        return answer

    def check(self, flow_input: t.Any) -> list[Problem]:
        """Check a run input: update the input table and marks; return what is missing.

        Accepts gladier's ``{"input": {...}}`` and, for convenience, the bare inner dict.
        """
        if isinstance(flow_input, dict) and "input" not in flow_input:
            flow_input = {"input": flow_input}
        found = self.flow.check(flow_input)
        self.endpoint_warnings = _endpoint_warnings(flow_input)
        self._sync()
        return found

    def diff(self, against: t.Any = None, *, label: str | None = None) -> flowdef.DefinitionDiff:
        """Show on the graph what changed: added states green, removed ones ghosted (dashed),
        changed ones amber (click one for its field-level diff), and the states whose compute
        function's source changed; returns the diff.

        With no argument the preview's client is compared with its deployed flow (and its
        functions with the checksums gladier stored), on the current backend, local or
        Globus; ``against`` may instead be any flow ``FlowPreview`` takes (a definition, a
        client, JSON text or a path). ``diff(False)`` goes back to the plain graph.
        """
        if against is False:
            self._diff = None
            self._sync()
            return flowdef.diff_definitions(self.flow.definition, self.flow.definition)
        old_functions = new_functions = None
        from gladier_jupyter.inline.redeploy import Redeploy

        if against is None or isinstance(against, Redeploy):
            from gladier_jupyter.inline import is_client
            from gladier_jupyter.inline.redeploy import pending_redeploy

            if against is None and not is_client(self._subject):
                raise GladierJupyterUsageError(
                    "FlowPreview.diff() with no argument compares a gladier client with its "
                    "deployed flow, but this preview shows a definition; pass the definition to "
                    "compare with: preview.diff(old_definition)."
                )
            pending = against or pending_redeploy(self._subject)
            old = pending.deployed or {}
            old_functions, new_functions = pending.stored_functions, pending.current_functions
            what = label or (f"the deployed flow {pending.flow_id}" if pending.flow_id
                             else "nothing deployed yet")
        else:
            old = FlowGraph.build(against).definition
            what = label or "the given definition"
        diff = flowdef.diff_definitions(old, self.flow.definition, old_functions=old_functions,
                                        new_functions=new_functions)
        self._diff = (old, diff, what)
        self._sync()
        return diff

    def select(self, name: str) -> None:
        """Select a state, as a click on it does."""
        self.selected = name

    def to_svg(self) -> str:
        """The graph as SVG: the live view's own drawing once one drew, else Python's."""
        return self.drawn_svg or self.flow.to_svg()

    def to_mermaid(self) -> str:
        return self.flow.to_mermaid()

    def to_text(self) -> str:
        return self.flow.to_text()

    def _repr_mimebundle_(self, **kwargs: t.Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        data = dict(data or {})
        data["image/svg+xml"] = self.to_svg()
        data["text/vnd.mermaid"] = self.to_mermaid()
        data["text/plain"] = self.to_text()
        data[FLOW_MIME] = self.flow.to_json()
        return data, metadata

    def __repr__(self) -> str:
        return self.to_text().splitlines()[0]


def _one_line(err: BaseException) -> str:
    text = str(getattr(err, "message", "") or err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:300]
