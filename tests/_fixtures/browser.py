"""Real-browser fixtures: one JupyterLab server per session (``lab``), one Notebook 7 server
(``notebook7``) for the tests that ask for it, Debian's Chromium via Playwright.

Use in a test::

    @pytest.mark.browser
    def test_badge_shows_backend(lab, page):
        run_notebook(lab, page, "badge", ["%load_ext gladier_jupyter", "..."], wait_for=".gj-badge")
        screenshot(page, "badge")

The same helpers drive Notebook 7: pass ``notebook7`` instead of ``lab``.

Screenshots land in ``test-artifacts/`` (one per widget test, plus one for every failure).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import secrets
import shutil
import subprocess
import sys
import tempfile
import typing as t
import urllib.request

import pytest

from tests._fixtures.net import free_port
from tests._fixtures.waiting import WaitTimeout, wait_until

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

__all__ = [
    "LabServer",
    "assert_accessible",
    "notebook_errors",
    "open_notebook",
    "run_notebook",
    "screenshot",
    "this_checkouts_labextension",
    "wait_cells_done",
    "write_notebook",
]


@dataclasses.dataclass
class LabServer:
    """A running Jupyter server: where it listens, its token and the folder it serves.

    ``app`` is the front end it serves: ``"lab"`` (JupyterLab) or ``"notebook"`` (Notebook 7).
    """

    url: str
    token: str = dataclasses.field(repr=False)
    root_dir: pathlib.Path
    log_path: pathlib.Path
    app: str = "lab"

    def page_url(self, path: str) -> str:
        return f"{self.url}/{path.lstrip('/')}?token={self.token}"

    def api(self, path: str, method: str = "GET", body: t.Any = None) -> t.Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None


@contextlib.contextmanager
def _jupyter_server(
    module: str, app: str, app_args: list[str], label: str
) -> t.Iterator[LabServer]:
    """Run ``python -m <module>`` (a Jupyter server app) on 127.0.0.1 until the block ends.

    A free port, a fresh token and a temporary root folder; ready once ``/api/status``
    answers. Its output goes to ``test-artifacts/<module>-server.log``.
    """
    base = pathlib.Path(tempfile.mkdtemp(prefix=f"gladier-jupyter-{module}-"))
    root_dir = base / "root"
    root_dir.mkdir()
    home = pathlib.Path(os.environ["HOME"])
    settings = home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    port = free_port()
    token = secrets.token_hex(16)
    # This checkout's built front end first: JupyterLab takes the first copy of an extension
    # it finds on JUPYTER_PATH, and the environment's copy may be another checkout's.
    labext = base / "jupyter-path" / "labextensions"
    labext.mkdir(parents=True)
    (labext / "gladier-jupyter").symlink_to(ROOT / "gladier_jupyter" / "labextension")
    env = dict(os.environ, TMPDIR=str(base),
               JUPYTER_PATH=os.pathsep.join(p for p in (str(base / "jupyter-path"),
                                                        os.environ.get("JUPYTER_PATH")) if p))
    log_path = ARTIFACTS / f"{module}-server.log"
    ARTIFACTS.mkdir(exist_ok=True)
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", module, "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", "--ServerApp.port_retries=0", "--allow-root",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
            *app_args,
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = LabServer(url=f"http://127.0.0.1:{port}", token=token, root_dir=root_dir,
                       log_path=log_path, app=app)
    try:
        # ready once it answers; an exited server is not waited for
        wait_until(lambda: proc.poll() is not None or server.api("api/status") or True, 60,
                   f"{label} answers /api/status", ignore=(OSError,))
        if proc.poll() is not None:
            raise RuntimeError(f"{label} exited with {proc.returncode}")
    except (WaitTimeout, RuntimeError) as error:
        proc.kill()
        log.close()
        raise RuntimeError(f"{label} did not start ({error}); its log: {log_path}") from None
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def this_checkouts_labextension():
    """JUPYTER_PATH first names this checkout's built front end: JupyterLab takes the first
    copy of an extension it finds, and the environment's copy may be another checkout's."""
    base = pathlib.Path(tempfile.mkdtemp(prefix="gladier-jupyter-labext-"))
    (base / "labextensions").mkdir()
    (base / "labextensions" / "gladier-jupyter").symlink_to(ROOT / "gladier_jupyter" / "labextension")
    before = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(base), before) if p)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = before
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def lab() -> t.Iterator[LabServer]:
    """One real JupyterLab server for the whole test session, on 127.0.0.1, serving this
    checkout's built front end (not the copy the environment may hold from another one)."""
    with this_checkouts_labextension(), _jupyter_server(
            "jupyterlab", "lab", ["--LabApp.expose_app_in_browser=True"], "JupyterLab") as server:
        yield server


@pytest.fixture(scope="session")
def notebook7() -> t.Iterator[LabServer]:
    """One real Jupyter Notebook 7 server for the whole test session, on 127.0.0.1.

    Notebook 7 is built on JupyterLab's components: with ``expose_app_in_browser`` its page
    has ``window.jupyterapp`` too, so :func:`open_notebook` / :func:`run_notebook` drive it
    with the same commands as JupyterLab (the notebook opens at ``/notebooks/<path>``).
    """
    with this_checkouts_labextension(), _jupyter_server(
            "notebook", "notebook", ["--JupyterNotebookApp.expose_app_in_browser=True"],
            "Jupyter Notebook 7") as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> t.Iterator[t.Any]:
    """Debian's Chromium driven by Playwright (Playwright cannot download browsers here)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Chromium is missing: install Debian's 'chromium' package (make test does).")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> t.Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(browser: t.Any, request: pytest.FixtureRequest) -> t.Iterator[t.Any]:
    """A fresh browser page; a screenshot is saved if the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            from playwright.sync_api import Error as PlaywrightError

            try:
                screenshot(pg, f"FAILED-{request.node.name}")
            except PlaywrightError:  # a closed page cannot be captured; the failure stands
                pass
        context.close()


#: axe-core from npm (package.json devDependencies), injected from disk: never from a CDN.
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def assert_accessible(page: t.Any, selector: str, *, impacts: tuple[str, ...] = ("serious", "critical")) -> int:
    """Run axe-core on the elements matching ``selector``; fail on any finding of those
    impacts (colour contrast included), naming rule, help and the offending elements.
    Returns how many elements axe checked against the rules that passed (a sanity figure)."""
    if not AXE_JS.is_file():
        pytest.fail(f"axe-core is missing at {AXE_JS}; run 'npm ci' (it is a dev dependency).")
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async (sel) => { const r = await window.axe.run(sel, {resultTypes: ['violations', 'passes']});"
        " return {violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary.split('\\n').slice(1, 2).join(''))})),"
        " passes: r.passes.reduce((k, p) => k + p.nodes.length, 0)}; }",
        selector)
    bad = [v for v in result["violations"] if v["impact"] in impacts]
    assert not bad, "axe: " + "; ".join(
        f"{v['impact']} {v['id']} ({v['help']}): {' | '.join(v['nodes'][:4])}" for v in bad)
    assert result["passes"] > 0, f"axe checked nothing under {selector!r}"
    return int(result["passes"])


def screenshot(page: t.Any, name: str, *, full_page: bool = False) -> pathlib.Path:
    """Save a PNG of the page under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    path = ARTIFACTS / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def write_notebook(lab: LabServer, name: str, cells: list[str]) -> pathlib.Path:
    """Write a notebook of code cells (kernelspec python3, so no kernel dialog appears)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    path = lab.root_dir / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


_KERNEL_IDLE = """(path) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.context || w.context.path !== path) return false;
  const k = w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""

_CELLS_DONE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  return w.content.widgets.every(c => c.model.type !== 'code' || c.model.executionCount !== null);
}"""

_ERRORS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const out = [];
  for (const c of w.content.widgets) {
    if (c.model.type !== 'code') continue;
    for (const o of c.model.outputs.toJSON()) {
      if (o.output_type === 'error') out.push(o.ename + ': ' + o.evalue);
    }
  }
  return out;
}"""


def wait_cells_done(page: t.Any, timeout: float = 120_000) -> None:
    """Wait until the kernel is idle and every code cell has run."""
    page.wait_for_function(_CELLS_DONE, timeout=timeout, polling=200)


def notebook_errors(page: t.Any) -> list[str]:
    """``ename: evalue`` of every error output in the open notebook."""
    return page.evaluate(_ERRORS)


def open_notebook(lab: LabServer, page: t.Any, path: str, *, timeout: float = 120_000) -> None:
    """Open a notebook of the server's root folder and wait until its kernel is idle.

    In JupyterLab ``reset`` drops the saved workspace, so tabs from earlier tests do not come
    back and the notebook under test is the current widget. Notebook 7 shows one notebook
    per page, at ``/notebooks/<path>``.
    """
    if lab.app == "notebook":
        page.goto(f"{lab.url}/notebooks/{path}?token={lab.token}")
    else:
        page.goto(f"{lab.url}/lab/tree/{path}?reset&token={lab.token}")
    page.wait_for_function(_KERNEL_IDLE, arg=path, timeout=timeout, polling=200)


def run_notebook(
    lab: LabServer,
    page: t.Any,
    name: str,
    cells: list[str],
    *,
    wait_for: str | None = None,
    timeout: float = 120_000,
    wait_done: bool = True,
) -> t.Any:
    """Write a notebook, open it (JupyterLab or Notebook 7), run all cells, wait, fail on any cell error.

    ``wait_for`` is a CSS selector that must appear (e.g. a widget's root element).
    ``wait_done=False`` returns as soon as ``wait_for`` shows (for long-running cells).
    """
    write_notebook(lab, name, cells)
    open_notebook(lab, page, f"{name}.ipynb", timeout=timeout)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    if wait_for:
        # Stop waiting as soon as a cell fails: its error is the useful message.
        page.wait_for_function(
            "([sel, errs]) => !!document.querySelector(sel) || eval(errs)().length > 0",
            arg=[wait_for, _ERRORS],
            timeout=timeout,
            polling=200,
        )
        errors = notebook_errors(page)
        assert not errors, f"cells of {name}.ipynb raised: {errors}"
    if wait_done:
        wait_cells_done(page, timeout)
        errors = notebook_errors(page)
        assert not errors, f"cells of {name}.ipynb raised: {errors}"
    return page


def save_and_reopen(page: t.Any, url: str, *, output_cell: int = 1) -> None:
    """Save the open notebook once the run monitor in cell ``output_cell`` has put its SVG
    snapshot in the cell's output, shut its kernel down (the widget models go with it), and
    open ``url`` (the same notebook, in JupyterLab or Notebook 7) until its saved monitor
    snapshot shows."""
    page.wait_for_selector('.gj-monitor[data-status="SUCCEEDED"]', timeout=60_000)
    page.wait_for_selector(".gj-graph", timeout=30_000)
    page.wait_for_function(
        """(i) => { const o = window.jupyterapp.shell.currentWidget.content.widgets[i]
                   .model.outputs; return o.length === 1 &&
                   String(o.get(0).data['image/svg+xml'] || '').includes('gj-flow-svg'); }""",
        arg=output_cell, timeout=30_000, polling=200)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    page.goto(url)
    page.wait_for_selector(".gj-saved-snapshot .gj-monitor-static[data-status='SUCCEEDED']",
                           timeout=60_000)
    page.wait_for_selector(".gj-saved-snapshot[data-mime='image/svg+xml']", timeout=30_000)
