// Builds the prebuilt JupyterLab extension into gladier_jupyter/labextension/ (shipped in
// the wheel as share/jupyter/labextensions/gladier-jupyter):
//   1. esbuild compiles labextension/src/plugin/{index,mime}.ts (with the shared widget
//      code they import) into labextension/plugin-build/lib/, leaving JupyterLab's own
//      packages (@jupyterlab/*, @lumino/*, react) as imports;
//   2. @jupyter/builder (what `jupyter-builder build .` runs) turns that into the
//      module-federation bundle JupyterLab loads, sharing those packages with the app.
// The core package metadata comes from @jupyterlab/core-meta in node_modules, so nothing
// is downloaded and no Python is needed.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { copyFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const require = createRequire(join(root, "package.json"));
const dev = process.argv.includes("--development");

// The shared chunk's name changes with its content: start from an empty lib/.
rmSync(join(here, "lib"), { recursive: true, force: true });
await build({
  entryPoints: {
    index: join(root, "labextension", "src", "plugin", "index.ts"),
    mime: join(root, "labextension", "src", "plugin", "mime.ts"),
  },
  outdir: join(here, "lib"),
  bundle: true,
  // One shared chunk for the code both entries import (dagre, the graph and run views):
  // webpack then bundles it once instead of once per entry.
  splitting: true,
  chunkNames: "shared-[hash]",
  format: "esm",
  target: "es2020",
  external: ["@jupyterlab/*", "@lumino/*", "react", "react-dom"],
  minify: false,
  sourcemap: false,
  logLevel: "warning",
  loader: { ".css": "text" },
});

const builder = require.resolve("@jupyter/builder/lib/build-labextension.js");
const coreMeta = require.resolve("@jupyterlab/core-meta/core.package.json");
const args = [builder, "--core-package-file", coreMeta];
if (dev) args.push("--development");
args.push(root);
const result = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], cwd: root });
if (result.status !== 0) {
  process.stdout.write(result.stdout ?? "");
  console.error(`The JupyterLab extension build failed (exit code ${result.status}).`);
  process.exit(result.status ?? 1);
}
// install.json tells `jupyter labextension list` (and the extension manager) that pip
// manages this extension; it ships inside the extension's folder.
copyFileSync(join(root, "install.json"), join(root, "gladier_jupyter", "labextension", "install.json"));
console.log("JupyterLab extension built into gladier_jupyter/labextension/");
