// Issue 13, "The trust boundary": program names built at run time, and file-name patterns that spell
// protected names. Found by a red team against a real gateway.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${…}` here is shell syntax, not a template
import assert from "node:assert/strict";
import { test } from "node:test";
import { Gate, type ToolCall } from "../src/index.ts";

const HOME = "/home/u";
const sh = (command: string): ToolCall => ({ tool: "exec", params: { command } });

// ---- what the shell builds from static text ----

test("substitutions hidden in ${…:-…}, ${a[…]}, $(( … )) and (( … )) are analysed: they run too", async () => {
  const g = await Gate.create({ packs: ["base"], home: HOME });
  for (const cmd of ["echo ${X:-$(rm -rf ~)}", "echo $(( $(rm -rf ~) ))", "(( $(rm -rf ~) ))", "echo ${a[$(rm -rf ~)]}", "arr[$(rm -rf ~)]=1"])
    assert.deepEqual(g.decide(sh(cmd)).rules, ["base-deny-rm-rf"], cmd);
});

test("program names the shell builds from static text are seen for what they are", async () => {
  const g = await Gate.create({ packs: ["base"], home: HOME });
  for (const cmd of [
    'X="rm -rf"; $X ~', // an unquoted variable is split into words
    "IFS=,; X=rm,-rf,~; $X",
    "{rm,-rf,~}", // brace expansion
    "$'\\x72\\x6d' -rf ~", // ANSI-C quoting
    '$"rm" -rf ~', // locale quoting
    "alias r=rm; r -rf ~",
    "hash -p /bin/rm r; r -rf ~",
    "trap 'rm -rf ~' EXIT; true",
    "watch 'rm -rf ~'",
    "script -c 'rm -rf ~' /dev/null",
  ]) {
    const d = g.decide(sh(cmd));
    assert.equal(d.decision, "deny", cmd);
    assert.ok(d.rules.includes("base-deny-rm-rf"), `${cmd} → ${JSON.stringify(d)}`);
  }
});

test("static look-alikes stay allowed; a variable ARGUMENT is not a dynamic program", async () => {
  const g = await Gate.create({ packs: ["base", "system", "owasp"], home: HOME });
  for (const cmd of [
    "ls",
    "git status",
    "python3 script.py",
    "FOO=1 make",
    "./run.sh",
    "/usr/bin/env python3 x.py",
    "env NODE_ENV=production node app.js",
    "echo $HOME",
    'cat "$FILE"',
    "X=ls; $X -la",
    '"$HOME/bin/tool" --version',
    "$PWD/run.sh",
    'command -v "$X" >/dev/null && echo ok',
    'sh -c "cd $DIR && make"',
    'bash -c "echo $(date)"',
    "for ((i=0;i<3;i++)); do echo $i; done",
    'for f in *.txt; do wc -l "$f"; done',
    "python3 -c \"print('$HOME')\"",
    "[ -f x ] && echo y",
    "echo $((1+2))",
    "mkdir -p src/{components,utils}",
    "find . -name '*.bak' -exec rm {} \\;",
    "trap 'echo done' EXIT; make test",
    "watch -n 5 ls",
    "alias ll='ls -la'; ll",
    "arr[0]=x; echo ${arr[0]}",
  ])
    assert.equal(g.decide(sh(cmd)).decision, "allow", cmd);
  // a variable path argument is handled as before: an unknown target of rm -rf is outside the workspace
  assert.deepEqual(g.decide(sh("rm -rf $TARGET")).rules, ["base-deny-rm-rf"]);
});
