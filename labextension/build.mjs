// Bundles every widget entry (labextension/src/widgets/*.ts) into an ES module in
// gladier_jupyter/static/, where the anywidget classes load it from. No CDN: every
// dependency is bundled.
import { build, context } from "esbuild";
import { readdirSync, mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, "src", "widgets");
const outDir = join(here, "..", "gladier_jupyter", "static");
mkdirSync(outDir, { recursive: true });

const entryPoints = readdirSync(srcDir)
  .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
  .map((f) => join(srcDir, f));

const options = {
  entryPoints,
  outdir: outDir,
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: !process.argv.includes("--watch"),
  sourcemap: false,
  logLevel: "info",
  loader: { ".css": "text" },
};

if (process.argv.includes("--watch")) {
  const ctx = await context(options);
  await ctx.watch();
} else {
  await build(options);
}
