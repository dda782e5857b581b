"""The Node.js version package.json promises is one every locked npm package accepts, so
`npm ci` on that Node prints no EBADENGINE warning (the README states the same range)."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEMVER = ROOT / "node_modules" / "semver"


@pytest.mark.skipif(shutil.which("node") is None or not SEMVER.is_dir(),
                    reason="needs node and the npm dev dependencies (npm ci)")
def test_every_locked_package_accepts_every_node_version_package_json_allows():
    promised = json.loads((ROOT / "package.json").read_text())["engines"]["node"]
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"][""]["engines"]["node"] == promised, "run npm install to sync the lock"
    # Optional packages (platform fallbacks such as @napi-rs/wasm-runtime) are not installed
    # here and npm does not check them; every other package's engines.node must allow all
    # of `promised`.
    ranges = {path: meta["engines"]["node"] for path, meta in lock["packages"].items()
              if path and not meta.get("optional") and isinstance(meta.get("engines"), dict)
              and meta["engines"].get("node")}
    script = ("const semver = require(process.argv[1]);\n"
              "const [promised, ranges] = JSON.parse(process.argv[2]);\n"
              "const bad = Object.entries(ranges).filter(([, r]) => !semver.subset(promised, r,"
              " {includePrerelease: false}));\n"
              "console.log(JSON.stringify(bad));\n")
    out = subprocess.run(["node", "-e", script, str(SEMVER), json.dumps([promised, ranges])],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    assert json.loads(out) == [], f"package.json engines.node {promised!r} is wider than these"
