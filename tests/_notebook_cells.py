"""Cell sources the notebook tests (headless and browser) share: a local run to watch."""

from __future__ import annotations

import json
import pathlib
import typing as t

FLOWS = pathlib.Path(__file__).parent / "data" / "monitor" / "flows.json"

#: Point the kernel at the local service; ``fc`` is its Flows client.
SETUP = (
    "import json, globus_sdk, gladier_jupyter\n"
    "from gladier_jupyter import backend\n"
    "gladier_jupyter.use_local()\n"
    "fc = backend.flows_client()"
)


def start_run(flow: str, title: str, label: str) -> str:
    """Deploy ``flow`` of tests/data/monitor/flows.json as ``title``, start a run ``label``.

    Defines ``definition``, ``flow``, ``sfc`` (its SpecificFlowClient) and ``run``.
    """
    return (
        f"definition = json.load(open({str(FLOWS)!r}))[{flow!r}]\n"
        f"flow = fc.create_flow(title={title!r}, definition=definition, input_schema={{}})\n"
        "sfc = globus_sdk.SpecificFlowClient(flow['id'], "
        "authorizer=backend.authorizer_for(flow['globus_auth_scope']))\n"
        f"run = sfc.run_flow({{'input': {{'name': 'x'}}}}, label={label!r})"
    )


def write_saved_flow_notebook(server: t.Any, name: str) -> dict[str, t.Any]:
    """A notebook whose one output is FlowPreview's bundle saved without widget state.

    The flow is tests/data/labext/quick_flow.json; returns the saved output's data (the SVG,
    mermaid and flow+json fallbacks, no widget view), as a notebook opened with no kernel has it.
    """
    import nbformat

    from gladier_jupyter.widgets.preview import FlowPreview
    from tests._fixtures.browser import write_notebook

    definition = json.loads((FLOWS.parents[1] / "labext" / "quick_flow.json").read_text())
    path = write_notebook(server, name, ["# the output below was saved, no kernel ran"])
    nb = nbformat.read(path, as_version=4)
    data, _ = FlowPreview(definition)._repr_mimebundle_()
    data = {k: v for k, v in data.items() if k != "application/vnd.jupyter.widget-view+json"}
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data=data)]
    nbformat.write(nb, path)
    return data


def execute_notebook(cells: list[str], cwd: pathlib.Path | None = None, *,
                     store_widget_state: bool = True) -> t.Any:
    """Run code cells headless (nbclient, kernel python3) and return the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    resources = {"metadata": {"path": str(cwd)}} if cwd is not None else {}
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=store_widget_state,
                   resources=resources).execute()
    return nb


# A gladier client whose first compute state raises (gladier's ExceptionOnActionFailure is
# false, so the run SUCCEEDED with a failed state); the last cell shows its RunMonitor.
FAILING_CELLS = [
    "import uuid, gladier_jupyter\n"
    "from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition\n"
    "from gladier_jupyter import backend\n"
    "gladier_jupyter.use_local()",
    "def calibrate(**data):\n"
    "    raise RuntimeError('calibration drifted by ' + str(data['drift']))\n"
    "\n"
    "def report(**data):\n"
    "    return 'reported'\n"
    "\n"
    "@generate_flow_definition\n"
    "class Calibrate(GladierBaseTool):\n"
    "    compute_functions = [calibrate]\n"
    "\n"
    "@generate_flow_definition\n"
    "class Report(GladierBaseTool):\n"
    "    compute_functions = [report]\n"
    "\n"
    "@generate_flow_definition\n"
    "class CalibrationClient(GladierBaseClient):\n"
    "    gladier_tools = [Calibrate, Report]\n"
    "\n"
    "client = CalibrationClient(**backend.gladier_client_kwargs())\n"
    "run = client.run_flow(flow_input={'input': {'drift': 3, "
    "'compute_endpoint': str(uuid.uuid4())}}, label='calibration')\n"
    "monitor = gladier_jupyter.RunMonitor(run, client=client)\n"
    "monitor",
]
