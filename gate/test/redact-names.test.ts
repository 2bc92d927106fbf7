// Issue 15, "redaction finds secrets by what they are called": a value assigned to a name that says it is a
// secret is redacted whatever its format (a 48-hex gateway token in openclaw.json or a .env), in env files,
// shell exports, JSON, YAML, TOML, INI, `key = value`, headers and netrc; git SHAs, UUIDs, checksums,
// digests and ids under other names, numbers, booleans, words, references and placeholders stay.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${…}` here is shell and env-file syntax, not a template
import assert from "node:assert/strict";
import { test } from "node:test";
import { Gate, PACKS, REDACTED, redactSecrets } from "../src/index.ts";

const HEX48 = "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a0c2e4f";
const R = REDACTED;

/** [input, expected output]: only the secret is replaced, the name and the rest stay */
const SECRETS: [string, string][] = [
  // .env files and shell exports
  [`OPENCLAW_GATEWAY_TOKEN=${HEX48}`, `OPENCLAW_GATEWAY_TOKEN=${R}`],
  [`GITHUB_TOKEN=${HEX48}\n`, `GITHUB_TOKEN=${R}\n`],
  ["export DB_PASSWORD=s3cr3t-Pa55word", `export DB_PASSWORD=${R}`],
  ['export STRIPE_SECRET="whatever-format-42"', `export STRIPE_SECRET="${R}"`],
  ["MY_SERVICE_API_KEY='k3y-0f-unkn0wn-f0rmat'", `MY_SERVICE_API_KEY='${R}'`],
  ["SESSION_SECRET=Zm9vYmFyYmF6cXV4", `SESSION_SECRET=${R}`],
  ["JWT_SIGNING_KEY=a8f5f167f44f4964e6c998dee827110c # rotate monthly", `JWT_SIGNING_KEY=${R} # rotate monthly`],
  ["REDIS_PASS=Xy7pQ2mN9", `REDIS_PASS=${R}`],
  ["MYSQL_PWD=Xy7pQ2mN9zz", `MYSQL_PWD=${R}`],
  ["AZURE_DEVOPS_PAT=4ufhxzq7mqkjfdw3abcd2e5fgh6ij7kl", `AZURE_DEVOPS_PAT=${R}`],
  ["docker run -e ADMIN_PASSWORD=Tr0ub4dor3 app", `docker run -e ADMIN_PASSWORD=${R} app`],
  // JSON (openclaw.json and friends)
  [`{"gateway": {"auth": {"mode": "token", "token": "${HEX48}"}}}`, `{"gateway": {"auth": {"mode": "token", "token": "${R}"}}}`],
  [`{"gateway":{"auth":{"mode":"password","password":"Corr3ct-Horse"}}}`, `{"gateway":{"auth":{"mode":"password","password":"${R}"}}}`],
  ['{"apiKey": "a1b2c3d4e5f6a7b8"}', `{"apiKey": "${R}"}`],
  ['{"client_secret": "123e4567-e89b-12d3-a456-426614174000"}', `{"client_secret": "${R}"}`],
  ['{"refresh_token": "1//0gabcdefghijklmnop"}', `{"refresh_token": "${R}"}`],
  ['{"auths": {"ghcr.io": {"auth": "dXNlcjpnaHBfZmFrZXRva2Vu"}}}', `{"auths": {"ghcr.io": {"auth": "${R}"}}}`],
  ['{"private_key": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"}', `{"private_key": "${R}"}`],
  ['{"accessToken":"ya_unknown_0123456789"}', `{"accessToken":"${R}"}`],
  // YAML
  ["password: hunter2", `password: ${R}`],
  ["db:\n  user: app\n  password: 'p@ss w0rd'\n", "db:\n  user: app\n  password: 'p@ss w0rd'\n"], // spaces: a phrase, kept (see below)
  ["  client_secret: GOCSPX-abc123def456\n", `  client_secret: ${R}\n`],
  ['  api_key: "0123456789abcdef0123456789abcdef"', `  api_key: "${R}"`],
  [`gateway.auth.token: ${HEX48}`, `gateway.auth.token: ${R}`],
  ["    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=", `    client-key-data: ${R}`],
  ["    token: 2a9c6e1f0b8d7a3c", `    token: ${R}`],
  // TOML / INI / key = value
  ['api_key = "tk_0123456789abcdef"', `api_key = "${R}"`],
  ["[default]\naws_session_token = FwoGZXIvYXdzEJr//////////wEaDG1hbmFnZWQ=\n", `[default]\naws_session_token = ${R}\n`],
  ["[remote]\ntype = sftp\npass = 7sKqLm2Xz9Pw\n", `[remote]\ntype = sftp\npass = ${R}\n`],
  ["spring.datasource.password=Pr0d-DB-pw!", `spring.datasource.password=${R}`],
  ["_auth=dXNlcjpwYXNzd29yZDEyMw==", `_auth=${R}`],
  // code
  ['conn = connect(host="db", password="p4ssw0rd!x")', `conn = connect(host="db", password="${R}")`],
  ["define('DB_PASSWORD', 'p4ssw0rd!x');", `define('DB_PASSWORD', '${R}');`],
  ['const config = { secret: "a-long-random-secret-1234" };', `const config = { secret: "${R}" };`],
  ['token := "4f3c2b1a0e9d8c7b"', `token := "${R}"`],
  ["'api_key' => 'abcd1234efgh5678',", `'api_key' => '${R}',`],
  // headers, URLs, netrc
  ["Authorization: Basic dXNlcjpwYXNzd29yZA==", `Authorization: Basic ${R}`],
  ['curl -H "Authorization: Token 0123456789abcdef" https://api.example.com', `curl -H "Authorization: Token ${R}" https://api.example.com`],
  ["X-Api-Key: 9b2f7c3e1a", `X-Api-Key: ${R}`],
  ["x-auth-token: c2VjcmV0LXRva2Vu", `x-auth-token: ${R}`],
  ["https://app.example.com/cb?access_token=abcdef123456&state=xyz", `https://app.example.com/cb?access_token=${R}&state=xyz`],
  ["machine api.example.com login me password 0123abcdEF", `machine api.example.com login me password ${R}`],
  ["--password=S3cure!pass", `--password=${R}`],
  // name/value pairs (Kubernetes env, docker inspect)
  ["env:\n- name: DB_PASSWORD\n  value: Tr0ub4dor3x\n", `env:\n- name: DB_PASSWORD\n  value: ${R}\n`],
  ['        - name: "API_TOKEN"\n          value: "4f3c2b1a0e9d"', `        - name: "API_TOKEN"\n          value: "${R}"`],
  ['{"name": "STRIPE_SECRET", "value": "whatever-format-42"}', `{"name": "STRIPE_SECRET", "value": "${R}"}`],
];

/** look-alikes that must stay exactly as they are */
const KEEP = [
  // ids, hashes, checksums not assigned to secret names
  "commit: 3f786850e387550fdab836ed7e6dc881de23001b",
  "commit 3f786850e387550fdab836ed7e6dc881de23001b",
  '{"id": "123e4567-e89b-12d3-a456-426614174000"}',
  '"integrity": "sha512-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ=="',
  '"resolved": "https://registry.npmjs.org/x/-/x-1.0.0.tgz"',
  "image: ghcr.io/app@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "checksum = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  `request_id=${HEX48}`,
  `"etag": "${HEX48}"`,
  "private_key_id: 0123456789abcdef0123456789abcdef01234567",
  "AWS_ACCESS_KEY_ID_PATH=/run/keys/id",
  // names that are not secrets
  "TOKEN_LIMIT=4096",
  "max_tokens: 4096",
  '"input_tokens": 1234, "output_tokens": 567',
  '"nextPageToken": "CAoQAA123"',
  "token_type: bearer",
  "PASSWORD_MIN_LENGTH=12",
  "secret_name: prod-db-credentials-v2",
  "GITHUB_TOKEN_URL=https://github.com/settings/tokens",
  "primary_key: user_id_2",
  "PWD=/home/u/work",
  "OLDPWD=/home/u",
  "bypass = 1a2b3c4d5e",
  "- name: GIT_COMMIT\n  value: 3f786850e387550fdab836ed7e6dc881de23001b",
  '{"name": "BUILD_ID", "value": "123e4567-e89b-12d3-a456-426614174000"}',
  "- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef: {name: db, key: password}",
  // obviously not secrets
  '"token": "mode"',
  '{"gateway": {"auth": {"mode": "token"}}}',
  "password: string;",
  "  token?: string;",
  "auth: true",
  "secret: false",
  "password: null",
  'GITHUB_TOKEN=""',
  "API_KEY=",
  "API_KEY=${API_KEY}",
  'DB_PASSWORD="${DB_PASSWORD:-}"',
  "TOKEN=$(cat /run/secrets/token)",
  "const apiKey = process.env.API_KEY;",
  "apiKey: apiKey,",
  "password = getpass.getpass()",
  "token = os.environ['TOKEN']",
  "password: <your-password>",
  "api_key: YOUR_API_KEY",
  "password=changeme",
  "token: xxxxxxxx",
  "secret: '********'",
  "api_key: sk-...abcd",
  "token: {{ vault_token }}",
  'password: "{{ .Values.password }}"',
  "client_secret: op://Private/app/client_secret",
  "DB_PASSWORD_FILE=/run/secrets/db_password",
  "SSL_KEY=/etc/ssl/private/server.key",
  "password_file: ~/.config/app/pw",
  "auth: oauth2",
  "auth_mode: token",
  "passwd: files systemd",
  'password: "Forgot password?"',
  '"password": "Password"',
  "if (token == expected) return;",
  "if (password != confirm) fail();",
  // prose about secrets
  "set aws_secret_access_key in your config",
  "the token: it expires after an hour",
  "Authorization: the act of granting access",
  "send the header Authorization: Bearer <token>",
  "Your password: must be 12 characters",
  `Authorization: Bearer ${R}`,
  `password: ${R}`,
];

test("a value assigned to a secret name is redacted, in every format, keeping the name", () => {
  for (const [input, want] of SECRETS) {
    const r = redactSecrets(input);
    assert.equal(r.text, want, input);
    if (want !== input) assert.ok(r.redactions.length > 0, input);
  }
});

test("look-alikes stay: ids, hashes, checksums and digests under other names, numbers, words, references, placeholders, prose", () => {
  for (const s of KEEP) assert.equal(redactSecrets(s).text, s, s);
});

test("the 48-hex gateway token is redacted by name in openclaw.json and .env, whatever else is around it", () => {
  const json = JSON.stringify(
    { gateway: { port: 18789, auth: { mode: "token", token: HEX48 } }, agents: { main: { id: "123e4567-e89b-12d3-a456-426614174000" } } },
    null,
    2,
  );
  const r = redactSecrets(json);
  assert.ok(!r.text.includes(HEX48), r.text);
  assert.ok(r.text.includes(`"token": "${R}"`), r.text);
  assert.ok(r.text.includes('"mode": "token"') && r.text.includes("123e4567-e89b-12d3-a456-426614174000"), r.text);
  const env = `# OpenClaw\nOPENCLAW_GATEWAY_TOKEN=${HEX48}\nOPENCLAW_GATEWAY_PORT=18789\nGIT_COMMIT=3f786850e387550fdab836ed7e6dc881de23001b\n`;
  assert.equal(
    redactSecrets(env).text,
    `# OpenClaw\nOPENCLAW_GATEWAY_TOKEN=${R}\nOPENCLAW_GATEWAY_PORT=18789\nGIT_COMMIT=3f786850e387550fdab836ed7e6dc881de23001b\n`,
  );
});

test("several names in one text; kinds; a kinds filter without named-secret leaves them", () => {
  const text = `A_TOKEN=tok-1234abcd\nB_SECRET=sec-5678efgh\nC=plain\nD_PASSWORD=pw-9012ijkl\n`;
  const r = redactSecrets(text);
  assert.equal(r.text, `A_TOKEN=${R}\nB_SECRET=${R}\nC=plain\nD_PASSWORD=${R}\n`);
  assert.deepEqual(
    r.redactions.map((x) => x.kind),
    ["named-secret", "named-secret", "named-secret"],
  );
  assert.equal(redactSecrets(text, { kinds: new Set(["aws-access-key"]) }).text, text);
  // a value a format pattern already took is not counted twice
  const twice = redactSecrets("ANTHROPIC_API_KEY=sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789");
  assert.deepEqual(
    twice.redactions.map((x) => x.kind),
    ["anthropic-key"],
  );
});

test("Gate.redact (base pack) redacts by name; the pack's own redaction near-misses stay", async () => {
  const g = await Gate.create({ packs: ["base"] });
  const out = g.redact(`cat .env\nAPP_SECRET=${HEX48}\nNODE_ENV=production\n`);
  assert.equal(out.text, `cat .env\nAPP_SECRET=${R}\nNODE_ENV=production\n`);
  assert.ok(out.redactions.some((x) => x.kind === "named-secret"));
  for (const r of PACKS.base.filter((r) => r.any.every((c) => c.op.includes("redact")))) {
    for (const ex of r.allow) if (typeof ex === "string") assert.equal(g.redact(ex).text, ex, `${r.id}: ${ex}`);
    for (const ex of r.deny) if (typeof ex === "string") assert.ok(!g.redact(ex).text.includes(ex), `${r.id}: ${ex}`);
  }
});

test("long runs of names, separators and quotes stay linear (1 MB each)", () => {
  const inputs = [
    `${"token".repeat(200000)}=x`,
    "a_token=".repeat(130000),
    'token: "'.repeat(130000),
    "Authorization: Basic ".repeat(50000),
    `${"a".repeat(300)}_token=`.repeat(3000),
    "machine x login y password ".repeat(40000),
  ];
  for (const t of inputs) {
    const a = Date.now();
    redactSecrets(t);
    assert.ok(Date.now() - a < 3000, `${t.slice(0, 30)}… took ${Date.now() - a} ms`);
  }
});
