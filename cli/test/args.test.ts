// The command line's own words, in-process (no server): flags and arguments, settings as typed,
// and API field errors turned into flags and arguments. cli.test.ts runs the same through bin/tropic.
import assert from "node:assert/strict";
import { test } from "node:test";
import { inCliWords, parseCommand, resolveCommand } from "../src/args.ts";
import { ApiError, CliError } from "../src/client.ts";
import { commands } from "../src/commands/index.ts";
import { policyErrorLines } from "../src/commands/resources.ts";
import { parseSetting, SETTINGS } from "../src/commands/settings.ts";
import { shellArg } from "../src/commands/resolve.ts";

const out = () => {};
/** The context `argv` parses to, or the CliError it is refused with. */
function parse(argv: string[]) {
  try {
    const r = resolveCommand(commands, argv);
    if ("help" in r) return r;
    return parseCommand(r, out);
  } catch (err) {
    if (err instanceof CliError) return { error: err.message, exitCode: err.exitCode };
    throw err;
  }
}

test("flags and arguments: what is wrong, for which command, and where its help is", () => {
  const refused: [string[], string][] = [
    [["policy", "set", "safe", "f.txt", "--foo"], 'unknown option --foo for "tropic policy set" (see tropic policy set --help)'],
    [["policy", "set", "safe", "f.txt", "--foo=bar"], 'unknown option --foo for "tropic policy set" (see tropic policy set --help)'],
    [["instances", "ls", "-x"], 'unknown option -x for "tropic instances ls" (see tropic instances ls --help)'],
    [["instances", "create", "home", "--agent", "a"], 'unknown option --agent for "tropic instances create" (see tropic instances create --help)'],
    [["policy", "set", "safe", "f.txt", "--agent"], "--agent needs a value: --agent AGENT (see tropic policy set --help)"],
    [["agents", "deploy", "x", "--instance="], "--instance needs a value: --instance INSTANCE (see tropic agents deploy --help)"],
    [["instances", "ls", "--json=yes"], "--json takes no value (see tropic instances ls --help)"],
    [["policy", "set", "safe"], "missing FILE: tropic policy set NAME FILE [--agent AGENT [--instance INSTANCE]] (see tropic policy set --help)"],
    [
      ["instances", "create"],
      "missing NAME: tropic instances create NAME [--provider local|aws] [--region R] [--type T] (see tropic instances create --help)",
    ],
    [["settings", "set"], "missing KEY=VALUE: tropic settings set KEY=VALUE... (see tropic settings set --help)"],
    [
      ["instances", "stop", "home", "away"],
      'unexpected argument "away" for "tropic instances stop": tropic instances stop INSTANCE | --all (see tropic instances stop --help)',
    ],
    [["policy", "frob"], 'unknown command "tropic policy frob"; tropic policy takes check, ls, show, set, rm (see tropic policy --help)'],
    [["policy"], '"tropic policy" needs a command: check, ls, show, set, rm (see tropic policy --help)'],
    [["frobnicate"], 'unknown command "frobnicate"; run tropic --help'],
  ];
  for (const [argv, message] of refused) {
    const r = parse(argv);
    assert.deepEqual(r, { error: message, exitCode: 2 }, argv.join(" "));
    assert.equal((message.match(/"/g) ?? []).length % 2, 0, `quotes are balanced: ${message}`);
  }
  const ok = parse(["policy", "set", "safe", "f.txt", "--agent", "personal-assistant", "--json"]);
  assert.ok("args" in ok);
  assert.deepEqual([ok.path, ok.args, ok.flags.agent, ok.json], ["tropic policy set", ["safe", "f.txt"], "personal-assistant", true]);
  const inline = parse(["instances", "create", "home", "--provider=local"]);
  assert.ok("flags" in inline && inline.flags.provider === "local");
  const many = parse(["settings", "set", "a=1", "b=2", "c=3"]);
  assert.ok("args" in many && many.args.length === 3);
  const dflt = parse(["runtime", "--dir", "/tmp/x"]);
  assert.ok("path" in dflt && dflt.path === "tropic runtime status", "runtime without a verb is runtime status");
});

test("--help: a command's usage and options; a group's commands", () => {
  const one = parse(["policy", "set", "--help"]);
  assert.ok("help" in one);
  assert.match(one.help, /^usage: tropic policy set NAME FILE \[--agent AGENT \[--instance INSTANCE\]\]\n\nsave FILE as policy NAME/);
  assert.match(one.help, /\n {2}--agent AGENT {8}attach it to this agent: its id, slug or name \(tropic agents ls\)\n/);
  assert.match(one.help, /\n {2}-h, --help +show this help/);
  const group = parse(["agents", "--help"]);
  assert.ok("help" in group && "exitCode" in group && group.exitCode === 0);
  assert.match(group.help, /tropic agents deploy TEMPLATE --instance INSTANCE/);
  assert.match(group.help, /Run tropic agents COMMAND --help/);
});

test("settings: each one parsed as its type; what is wrong says the accepted values", () => {
  const value = (arg: string) => {
    const p = parseSetting(arg);
    assert.equal(p.problem, undefined, arg);
    return p.value;
  };
  assert.equal(value("blockBrowser=true"), true);
  assert.equal(value("blockCodeExecution=no"), false);
  assert.equal(value("dailyCreditCap=500"), 500);
  assert.equal(value("dailyCreditCap=none"), null);
  assert.equal(value("maxSessionMinutes=null"), null);
  assert.equal(value("sshRotationDays=60"), 60);
  assert.equal(value("phoneMode=blocklist"), "blocklist");
  assert.deepEqual(value("phonePatterns=+65*, +44*"), ["+65*", "+44*"]);
  assert.deepEqual(value("phonePatterns=none"), []);
  assert.deepEqual(value("sshAllowlist="), []);
  assert.equal(value("model=anthropic/claude-opus-4-6"), "anthropic/claude-opus-4-6");
  assert.deepEqual(value("customModel=my-llm/llama-3.3-70b"), { provider: "my-llm", modelId: "llama-3.3-70b" });
  assert.deepEqual(value("customModel=openrouter/meta/llama-3@https://or.example/v1"), {
    provider: "openrouter",
    modelId: "meta/llama-3",
    baseUrl: "https://or.example/v1",
  });
  assert.deepEqual(value('customModel={"provider":"p","modelId":"m"}'), { provider: "p", modelId: "m" });
  assert.equal(value("customModel=none"), null);

  const problem = (arg: string) => parseSetting(arg).problem;
  assert.equal(problem("blockBrowser=maybe"), "blockBrowser=maybe: must be true or false (blockBrowser=true|false)");
  assert.equal(problem("blockBrowser="), "blockBrowser=: must be true or false (blockBrowser=true|false)");
  assert.equal(
    problem("dailyCreditCap=0"),
    "dailyCreditCap=0: must be from 1 to 1000000 credits, or none for no limit (dailyCreditCap=1..1000000|none)",
  );
  assert.equal(
    problem("dailyCreditCap=2.5"),
    "dailyCreditCap=2.5: must be a whole number of credits, or none for no limit (dailyCreditCap=1..1000000|none)",
  );
  assert.equal(problem("sshRotationDays=45"), "sshRotationDays=45: must be 30, 60 or 90 (sshRotationDays=30|60|90)");
  assert.equal(
    problem("phoneMode=open"),
    "phoneMode=open: must be unrestricted, allowlist or blocklist (phoneMode=unrestricted|allowlist|blocklist)",
  );
  assert.equal(problem("model="), "model=: must not be empty (model=MODEL|custom)");
  assert.match(problem("customModel=llama")!, /^customModel=llama: must be PROVIDER\/MODEL, e\.g\. /);
  assert.equal(problem("blockbrowser=true"), 'unknown setting "blockbrowser"; did you mean blockBrowser?');
  assert.match(problem("colour=blue")!, /^unknown setting "colour" \(the settings: blockBrowser, .*phonePatterns\)$/);
  assert.equal(problem("blockBrowser"), '"blockBrowser" is not KEY=VALUE, e.g. blockBrowser=true');
  // Every setting the API takes is one the CLI parses.
  const api = [
    "blockBrowser",
    "blockCodeExecution",
    "blockOsCommands",
    "dailyCreditCap",
    "maxSessionMinutes",
    "model",
    "customModel",
    "defaultInstanceType",
    "sshAllowlist",
    "sshRotationDays",
    "phoneMode",
    "phonePatterns",
  ];
  assert.deepEqual(Object.keys(SETTINGS).sort(), api.sort());
});

test("API field errors in the command line's words", () => {
  const deploy = resolveCommand(commands, ["agents", "deploy", "x"]);
  assert.ok(!("help" in deploy));
  const words = (status: number, message: string, field?: string) => inCliWords(new ApiError(status, "x", message, field), deploy.cmd);
  assert.equal(words(400, "policyId: must be a UUID", "policyId"), "--policy must be a UUID");
  assert.equal(
    words(400, 'model: must be a preset model id or "<provider>/<model id>"', "model"),
    '--model must be a preset model id or "<provider>/<model id>"',
  );
  assert.equal(
    words(400, 'no marketplace template "x"; GET /api/v1/marketplace/templates lists them', "templateId"),
    'no marketplace template "x"; GET /api/v1/marketplace/templates lists them (tropic templates ls)',
  );
  assert.equal(words(400, "name: Invalid input: expected string", "name"), "--name: Invalid input: expected string");
  assert.equal(words(404, "instance not found"), "instance not found", "no field: as the API said it");
  const create = resolveCommand(commands, ["instances", "create", "home"]);
  assert.ok(!("help" in create));
  assert.equal(
    inCliWords(new ApiError(409, "conflict", 'an instance named "home" already exists', "name"), create.cmd),
    'an instance named "home" already exists (tropic instances ls)',
  );
  assert.equal(
    inCliWords(new ApiError(400, "invalid_input", "name: must be at most 80 characters", "name"), create.cmd),
    "NAME must be at most 80 characters",
  );
  assert.equal(inCliWords(new ApiError(400, "invalid_input", "instanceType: must be …", "instanceType"), create.cmd), "--type must be …");
});

test("policy line errors: one per line, as `tropic policy check` prints them", () => {
  const err = new ApiError(400, "invalid_input", "line 2: a; line 3: b", "text", {
    errors: [
      { line: 2, message: 'line 2: "frobnicate": no known capability', suggestions: ["use the browser", "use the terminal"] },
      { line: 3, message: "line 3: b" },
    ],
  });
  assert.deepEqual(policyErrorLines(err), [
    'line 2: "frobnicate": no known capability',
    '  did you mean: "use the browser", "use the terminal"',
    "line 3: b",
  ]);
  assert.equal(policyErrorLines(new ApiError(400, "invalid_input", "name: must not be empty", "name")), undefined);
});

test("shellArg quotes what a shell would split", () => {
  assert.equal(shellArg("home"), "home");
  assert.equal(shellArg("/tmp/key.pem"), "/tmp/key.pem");
  assert.equal(shellArg("my home"), "'my home'");
  assert.equal(shellArg("it's"), "'it'\\''s'");
});
