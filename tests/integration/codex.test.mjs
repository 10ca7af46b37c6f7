// cli-matrix (stdio): ctest runs this file once per pinned CLI version that speaks stdio (2.1.197, 2.1.332).
// Codex CLI itself (@openai/codex, pinned in .deps by scripts/install-test-deps.sh) against the proxy:
// `codex exec` with a custom model provider at /v1 and wire_api = "responses", run in a network namespace
// with only loopback (it reaches the proxy through a bridged port and nothing else), the real Claude CLI
// behind the proxy talking to the fake upstream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { startProxy, stopChecked, STDIO_TEST_CLI } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));
const { hasNetns, runInNetns } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/netns.mjs'));

const CODEX_VERSION = '0.171.0'; // keep in step with scripts/install-test-deps.sh
const CODEX = path.join(SOURCE_DIR, `.deps/codex-${CODEX_VERSION}/node_modules/.bin/codex`);
const MODEL = 'claude-sonnet-4-5';
const T = { timeout: 180_000 };

const skip = (!fs.existsSync(CODEX) && `codex ${CODEX_VERSION} is not installed (scripts/install-test-deps.sh)`) ||
  (!fs.existsSync(STDIO_TEST_CLI) && 'the pinned CLI is not installed') ||
  (!hasNetns() && 'needs a network namespace (root, unshare, ip) for the client');

describe('codex exec through /v1/responses', { skip }, () => {
  let up;
  let proxy;
  let home;
  let work;

  // What the README tells users to put in ~/.codex/config.toml.
  const configToml = (port) => `model = "${MODEL}"
model_provider = "claude-proxy"

[model_providers.claude-proxy]
name = "Claude via claude-ws-proxy"
base_url = "http://127.0.0.1:${port}/v1"
wire_api = "responses"
env_key = "CLAUDE_PROXY_API_KEY"
`;

  const codex = (prompt) => runInNetns(CODEX, ['exec', '--skip-git-repo-check', prompt], {
    cwd: work,
    ports: [{ inside: proxy.port, outside: proxy.port }],
    env: { PATH: process.env.PATH, HOME: home, CODEX_HOME: path.join(home, '.codex'), CLAUDE_PROXY_API_KEY: 'sk-proxy' },
  });

  before(async () => {
    up = await startFakeUpstream();
    proxy = await startProxy({
      config: { defaultModel: MODEL, apiKey: 'sk-proxy' },
      env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test', CLAUDE_CODE_MAX_RETRIES: '0' },
    });
    home = fs.mkdtempSync(path.join(proxy.dir, 'codex-'));
    fs.mkdirSync(path.join(home, '.codex'));
    fs.writeFileSync(path.join(home, '.codex', 'config.toml'), configToml(proxy.port));
    work = path.join(home, 'work');
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(work, 'hello.txt'), 'CX_FILE_CONTENT\n');
  });

  after(async () => {
    await up?.close();
    if (proxy) await stopChecked(proxy);
  });

  test('plain_prompt_is_answered', T, async () => {
    const r = await codex('[[say:CX_PLAIN_OK]]');
    assert.equal(r.code, 0, `codex: ${r.stderr.slice(-3000)}\n${proxy.logs().slice(-2000)}`);
    assert.match(r.stdout, /CX_PLAIN_OK/);
    const req = proxy.logEvents('http.request').find((e) => e.path === '/v1/responses');
    assert.equal(req.status, '200');
    // Codex's harness prompt (developer messages) became the system prompt.
    assert.match(JSON.stringify(up.lastTurn().body.system), /Codex/);
  });

  test('shell_tool_round_trip_answers_the_waiting_cli', T, async () => {
    const turnsBefore = up.turns().length;
    const r = await codex('[[tool:exec_command:{"cmd":"cat hello.txt"}]]');
    assert.equal(r.code, 0, `codex: ${r.stderr.slice(-3000)}\n${proxy.logs().slice(-2000)}`);
    // Codex ran the command and sent its output back; the model's answer quotes it.
    assert.match(r.stdout, /Tool said:[\s\S]*CX_FILE_CONTENT/);
    const turns = up.turns().slice(turnsBefore);
    assert.equal(turns.length, 2, 'one upstream call for the tool call, one for its result');
    const lastUser = turns[1].body.messages.at(-1);
    const result = lastUser.content.find((b) => b.type === 'tool_result');
    assert.match(JSON.stringify(result.content), /CX_FILE_CONTENT/);
    // The follow-up (the whole history re-sent, with function_call_output) answered the CLI parked on the call.
    assert.equal(proxy.logEvents('session.tool_results').at(-1).answered, '1');
  });

  test('namespace_tool_call_goes_back_with_its_namespace', T, async () => {
    // multi_agent_v1 is a namespace tool; Codex runs its close_agent only when the call names the namespace.
    const r = await codex('[[tool:close_agent:{"target":"nobody"}]]');
    assert.equal(r.code, 0, `codex: ${r.stderr.slice(-3000)}`);
    assert.match(r.stdout, /Tool said: invalid agent id nobody/);
  });
});
