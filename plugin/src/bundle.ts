// The plugin as OpenClaw should load it: one plain-JS ESM file, no TypeScript left.
//
// Linking plugin/ itself works, but OpenClaw then compiles index.ts and the whole @tropic/gate +
// @tropic/policy source tree at load with its TypeScript loader (jiti + a Babel transform, plus its
// source capture), which costs the gateway ~100 MB of RSS. preparedPluginDir() instead writes a
// directory OpenClaw loads with Node's own module loader:
//   openclaw.plugin.json   copied from plugin/
//   package.json           {"type": "module", "openclaw": {"extensions": ["./index.mjs"]}}, no dependencies
//   index.mjs              esbuild bundle of plugin/index.ts (ESM, platform node, target node22) with
//                          every workspace package and npm dependency inlined
//   cedar_wasm_bg.wasm     the Cedar engine; @cedar-policy/cedar-wasm/nodejs reads its .wasm from
//                          `${__dirname}`, which in the bundle is this directory (see BANNER)
//   .source-hash           content hash of everything the output depends on (written last)
// The directory is self-contained (no node_modules needed), so it can be linked from anywhere or
// copied to another machine. It is rebuilt only when the hash changes (or `force`); every file is
// replaced by rename, so concurrent callers and a gateway reading the directory never see a torn file.
// Run directly (`node --import tsx plugin/src/bundle.ts [outDir]`) it prints the directory.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const PLUGIN_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const BUILD_ROOT = join(PLUGIN_ROOT, ".build");
/** default output directory (gitignored, and excluded from Biome in the root biome.json) */
export const DEFAULT_OUT_DIR = join(BUILD_ROOT, "tropic-gate");
const ENTRY = join(PLUGIN_ROOT, "index.ts");
const BUNDLE_VERSION = 5; // bump when the output layout or the build options change

// CommonJS dependencies (cedar-wasm's nodejs build) use require() and __dirname; an ESM bundle has
// neither, so the bundle defines them for its own file.
const BANNER = [
  'import { createRequire as __tropicCreateRequire } from "node:module";',
  'import { dirname as __tropicDirname } from "node:path";',
  'import { fileURLToPath as __tropicFileURLToPath } from "node:url";',
  "const require = __tropicCreateRequire(import.meta.url);",
  "const __filename = __tropicFileURLToPath(import.meta.url);",
  "const __dirname = __tropicDirname(__filename);",
].join("\n");

// V8 optimises a wasm function (TurboFan, on background threads) once it has run for a "tiering
// budget"; the budget is read when a module is compiled. Compiled with the default, Cedar's parser and
// evaluator were optimised within the gateway's first few dozen decisions, and the compilation left
// ~15-20 MB of RSS behind (bare Node 24: +51 MB with the Gate after 50 decisions, +35 MB with this).
// The bundle compiles Cedar's module with 10x the default budget and restores the default at once
// (the flag only matters while a module is created, so no other module of the gateway is affected),
// unless the gateway was started with its own --wasm-tiering-budget. The hot decision path still gets
// optimised, later; until then decisions run on V8's baseline wasm code (~30% slower, µs per call).
// OpenClaw 2026.9.6 evaluates a plugin's module twice in one gateway (two captured copies of the
// plugin directory): the compiled module (code, metadata, its 4.3 MB of bytes) is kept on globalThis,
// keyed by the bytes' hash, so the second copy only instantiates it (its own memory and glue state).
// The second evaluation also ran every module of the bundle again: the capability table, the packs,
// libphonenumber's metadata and a second Cedar instance (its own linear memory and glue), ~9 MB in bare
// Node 24, none of it used (both copies' hooks use the one engine kept on globalThis, see plugin.ts).
// So the bundle's body runs inside a function whose result (the plugin object) is kept on globalThis,
// keyed by the hash of the code: a second copy of the same bundle only runs its imports of Node's
// built-in modules and returns the first copy's plugin; a different bundle (an upgrade) runs its own.
// The body is a function declaration, not a parenthesised arrow called at once: V8 compiles such an
// arrow eagerly (bytecode for every top-level statement of the bundle) even in the copy that never
// calls it, and only pre-parses a declaration (the second copy's heap 1.7 -> 1.3 MB). The output is
// ASCII (esbuild escapes other characters), so V8 keeps each copy's source as a one-byte string: one
// non-Latin-1 character made the whole 0.55 MB source two-byte (1.1 MB per copy, kept for lazy
// compilation). See docs/gate.md "Third pass".
function oncePerProcess(js: string, key: string): string {
  const imports: string[] = [];
  const body = js.replace(/^import [^;"'`]*? from "(?:node:)?[a-z_/]+";\n/gm, (m) => {
    imports.push(m);
    return "";
  });
  const exp = /\nexport \{\n {2}(\w+) as default\n\};\n*$/.exec(body);
  if (!exp || /^export /m.test(body.slice(0, exp.index))) throw new Error("bundle: expected one `export { x as default }` at the end");
  if (/^\s*import[\s{*]/m.test(body.slice(0, exp.index).replace(/`[^`]*`/g, "")))
    throw new Error("bundle: an import esbuild did not place on a line of its own");
  return `${imports.join("")}const __tropicOnce = Symbol.for("tropic.gate.plugin:${key}");
function __tropicBody() {
${body.slice(0, exp.index)}
return ${exp[1]};
}
const __tropicPlugin = (globalThis[__tropicOnce] ??= __tropicBody());
export { __tropicPlugin as default };
`;
}

const WASM_TIERING_BUDGET = 130_000_000; // V8's default: 13,000,000
const WASM_COMPILE = "new WebAssembly.Module(wasmBytes)";
function scopeWasmTiering(js: string): string {
  if (js.split(WASM_COMPILE).length !== 2) throw new Error(`bundle: expected one \`${WASM_COMPILE}\` (cedar-wasm's loader changed?)`);
  return js.replace(
    WASM_COMPILE,
    `((bytes) => { const key = Symbol.for("tropic.gate.cedarModule:" + require("node:crypto").createHash("sha256").update(bytes).digest("hex")); if (globalThis[key]) return globalThis[key]; const v8 = require("node:v8"); const own = process.execArgv.some((a) => a.startsWith("--wasm-tiering-budget")); if (!own) v8.setFlagsFromString("--wasm-tiering-budget=${WASM_TIERING_BUDGET}"); try { return (globalThis[key] = new WebAssembly.Module(bytes)); } finally { if (!own) v8.setFlagsFromString("--wasm-tiering-budget=13000000"); } })(wasmBytes)`,
  );
}

/** Root directory of a package as Node resolves it from `from` (node_modules lookup upwards). */
function packageRoot(name: string, from = PLUGIN_ROOT): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const p = join(dir, "node_modules", name, "package.json");
    if (existsSync(p)) return realpathSync(dirname(p));
    if (dirname(dir) === dir) throw new Error(`cannot find the package ${name} from ${from}`);
  }
}

function listFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) listFiles(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Content hash of the plugin, gate and policy sources, their manifests, the versions of the npm
 * packages the bundle inlines, esbuild's version and this file. */
export function sourceHash(): string {
  const gate = packageRoot("@tropic/gate");
  const policy = packageRoot("@tropic/policy", gate);
  const files = [
    ENTRY,
    join(PLUGIN_ROOT, "openclaw.plugin.json"),
    join(PLUGIN_ROOT, "package.json"),
    ...listFiles(join(PLUGIN_ROOT, "src")),
    join(gate, "package.json"),
    ...listFiles(join(gate, "src")),
    join(policy, "package.json"),
    ...listFiles(join(policy, "src")),
  ].sort();
  const h = createHash("sha256").update(`tropic-gate-bundle ${BUNDLE_VERSION}\n`);
  for (const f of files)
    h.update(`${relative(dirname(PLUGIN_ROOT), f)}\0`)
      .update(readFileSync(f))
      .update("\0");
  for (const [name, from] of [
    ["esbuild", PLUGIN_ROOT],
    ["@cedar-policy/cedar-wasm", gate],
    ["libphonenumber-js", policy],
  ] as const) {
    const v = JSON.parse(readFileSync(join(packageRoot(name, from), "package.json"), "utf8")).version;
    h.update(`${name}@${v}\n`);
  }
  return h.digest("hex");
}

/** Writes a file by rename so readers see the old or the new content, never a partial one. */
function writeAtomic(path: string, data: string | Uint8Array) {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

function isPrepared(outDir: string, hash: string): boolean {
  try {
    return (
      readFileSync(join(outDir, ".source-hash"), "utf8").trim() === hash &&
      ["index.mjs", "package.json", "openclaw.plugin.json"].every((f) => statSync(join(outDir, f)).isFile())
    );
  } catch {
    return false;
  }
}

export async function preparedPluginDir(opts?: { outDir?: string; force?: boolean }): Promise<string> {
  const outDir = resolve(opts?.outDir ?? DEFAULT_OUT_DIR);
  const hash = sourceHash();
  if (!opts?.force && isPrepared(outDir, hash)) return outDir;

  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [ENTRY],
    absWorkingDir: PLUGIN_ROOT,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node22",
    mainFields: ["module", "main"],
    conditions: ["node", "import"],
    banner: { js: BANNER },
    legalComments: "none",
    metafile: true,
    write: false,
    outfile: join(outDir, "index.mjs"),
    logLevel: "silent",
  });
  const js = result.outputFiles.find((f) => f.path.endsWith(".mjs"));
  if (!js) throw new Error("esbuild produced no index.mjs");
  // esbuild's default charset (ascii) escapes every non-ASCII character of the code; the ones left are in
  // the comments it keeps, and one of them would make V8 hold the whole source as a two-byte string.
  const ascii = js.text.replace(/[^\x00-\x7f]/g, "?");
  const code = oncePerProcess(scopeWasmTiering(ascii), createHash("sha256").update(ascii).digest("hex").slice(0, 16));

  // .wasm files next to any inlined module are what such modules load via __dirname: copy them.
  const assets = new Map<string, string>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const abs = resolve(PLUGIN_ROOT, input);
    if (!abs.includes(`${sep}node_modules${sep}`)) continue;
    const dir = dirname(abs);
    for (const f of readdirSync(dir)) {
      if (!f.endsWith(".wasm")) continue;
      const prev = assets.get(f);
      if (prev && prev !== join(dir, f)) throw new Error(`two bundled packages ship ${f}: ${prev}, ${join(dir, f)}`);
      assets.set(f, join(dir, f));
    }
  }

  const plugin = JSON.parse(readFileSync(join(PLUGIN_ROOT, "package.json"), "utf8"));
  const pkg = {
    name: plugin.name,
    version: plugin.version,
    private: true,
    type: "module",
    description: `${plugin.description} Prepared by plugin/src/bundle.ts; do not edit.`,
    openclaw: { extensions: ["./index.mjs"] },
  };

  mkdirSync(outDir, { recursive: true });
  // the hash goes last: until it is written, the directory does not count as prepared
  rmSync(join(outDir, ".source-hash"), { force: true });
  for (const [name, src] of assets) {
    const tmp = join(outDir, `.${name}.${process.pid}.tmp`);
    copyFileSync(src, tmp);
    renameSync(tmp, join(outDir, name));
  }
  writeAtomic(join(outDir, "index.mjs"), code);
  writeAtomic(join(outDir, "openclaw.plugin.json"), readFileSync(join(PLUGIN_ROOT, "openclaw.plugin.json")));
  writeAtomic(join(outDir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  writeAtomic(join(outDir, ".source-hash"), `${hash}\n`);
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const dir = await preparedPluginDir({ outDir: args.find((a) => !a.startsWith("--")), force: args.includes("--force") });
  console.log(dir);
}
