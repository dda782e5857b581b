"""Cell sources the notebook tests (headless and browser) share: a local run to watch."""

from __future__ import annotations

import pathlib

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
