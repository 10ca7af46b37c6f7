// cli-matrix (stdio): ctest runs this file once per pinned CLI version that speaks stdio (2.1.197, 2.1.332).
// A real third-party client against the proxy, configured exactly as the README's Clients section says: pi
// (@mariozechner/pi-coding-agent, pinned in .deps by scripts/install-test-deps.sh), in both of its dialects,
// run in a network namespace with only loopback (it reaches the proxy through a bridged port and nothing
// else), the real Claude CLI behind the proxy talking to the fake upstream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { startProxy, stopChecked, STDIO_TEST_CLI } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));
const { hasNetns, runInNetns } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/netns.mjs'));

const PI_VERSION = '0.73.1'; // keep in step with scripts/install-test-deps.sh
const PI = path.join(SOURCE_DIR, `.deps/pi-coding-agent-${PI_VERSION}/node_modules/.bin/pi`);
const MODEL = 'claude-sonnet-4-5';
const KEY = 'sk-proxy-clients';
const T = { timeout: 120_000 };

const skip = (!fs.existsSync(PI) && `pi ${PI_VERSION} is not installed (scripts/install-test-deps.sh)`) ||
  (!fs.existsSync(STDIO_TEST_CLI) && 'the pinned CLI is not installed') ||
  (!hasNetns() && 'needs a network namespace (root, unshare, ip) for the client');

// ~/.pi/agent/models.json as the README shows it, with the proxy's key.
const modelsJson = (port) => ({
  providers: {
    'claude-proxy': {
      baseUrl: `http://127.0.0.1:${port}/v1`, api: 'openai-completions', apiKey: KEY,
      models: [{ id: MODEL, name: 'Claude Sonnet 4.5 (proxy)', contextWindow: 200000, maxTokens: 32000 }],
    },
    'claude-proxy-anthropic': {
      baseUrl: `http://127.0.0.1:${port}`, api: 'anthropic-messages', apiKey: KEY,
      models: [{ id: MODEL, name: 'Claude Sonnet 4.5 (proxy, Anthropic API)', contextWindow: 200000, maxTokens: 32000 }],
    },
  },
});

describe('pi against the proxy, both dialects', { skip }, () => {
  let up;
  let proxy;
  let home;
  let work;

  const pi = (provider, prompt) => runInNetns(PI, ['--no-session', '--model', `${provider}/${MODEL}`, '-p', prompt], {
    cwd: work,
    ports: [{ inside: proxy.port, outside: proxy.port }],
    env: { PATH: process.env.PATH, HOME: home, PI_OFFLINE: '1' },
  });
  // The statuses of the requests to path p since the mark (each test takes its own mark: they share the proxy).
  const requests = (p, since = 0) => proxy.logEvents('http.request').slice(since).filter((e) => e.path === p).map((e) => e.status);
  const mark = () => proxy.logEvents('http.request').length;
  const explain = (r) => `pi exit ${r.code}:\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}\n${proxy.logs().slice(-2500)}`;

  before(async () => {
    up = await startFakeUpstream();
    proxy = await startProxy({
      config: { defaultModel: MODEL, requireApiKey: true, apiKey: KEY },
      env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test', CLAUDE_CODE_MAX_RETRIES: '0' },
    });
    home = fs.mkdtempSync(path.join(proxy.dir, 'pi-'));
    fs.mkdirSync(path.join(home, '.pi/agent'), { recursive: true });
    fs.writeFileSync(path.join(home, '.pi/agent/models.json'), JSON.stringify(modelsJson(proxy.port), null, 2));
    work = path.join(home, 'work');
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(work, 'hello.txt'), 'PI_FILE_CONTENT_7\n');
  });

  after(async () => {
    await up?.close();
    if (proxy) await stopChecked(proxy);
  });

  test('openai_completions_at_v1_is_answered', T, async () => {
    const m = mark();
    const r = await pi('claude-proxy', '[[say:PI_OPENAI_OK]]');
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /PI_OPENAI_OK/);
    assert.deepEqual(requests('/v1/chat/completions', m), ['200']);
    // pi's own harness prompt reached the model as the system prompt.
    assert.match(JSON.stringify(up.lastTurn().body.system), /pi, a coding agent harness/);
  });

  test('anthropic_messages_at_the_root_is_answered', T, async () => {
    const m = mark();
    const r = await pi('claude-proxy-anthropic', '[[say:PI_ANTHROPIC_OK]]');
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /PI_ANTHROPIC_OK/);
    assert.deepEqual(requests('/v1/messages', m), ['200']);
  });

  test('read_tool_round_trip_answers_the_waiting_cli', T, async () => {
    const m = mark();
    const spawnsBefore = proxy.logEvents('session.spawn').length;
    const waitsBefore = proxy.logEvents('session.tool_wait').length;
    const r = await pi('claude-proxy', '[[tool:read:{"path":"hello.txt"}]]');
    assert.equal(r.code, 0, explain(r));
    // pi ran its read tool on the file and sent the result back; the model's answer quotes it.
    assert.match(r.stdout, /Tool said: .*PI_FILE_CONTENT_7/s);
    assert.equal(proxy.logEvents('session.tool_wait').length, waitsBefore + 1, explain(r));
    // The result answered the CLI that waited for it: no second process, no replay.
    assert.equal(proxy.logEvents('session.spawn').length, spawnsBefore + 1, explain(r));
    assert.deepEqual(requests('/v1/chat/completions', m), ['200', '200']);
  });

  test('a_wrong_key_is_refused', T, async () => {
    const bad = modelsJson(proxy.port);
    bad.providers['claude-proxy'].apiKey = 'not-the-key';
    const file = path.join(home, '.pi/agent/models.json');
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, JSON.stringify(bad));
    try {
      const m = mark();
      const r = await pi('claude-proxy', '[[say:PI_SHOULD_NOT_ANSWER]]');
      assert.doesNotMatch(r.stdout, /PI_SHOULD_NOT_ANSWER/);
      const statuses = requests('/v1/chat/completions', m);
      assert.ok(statuses.length > 0 && statuses.every((s) => s === '401'), `${statuses}\n${explain(r)}`);
    } finally {
      fs.writeFileSync(file, good);
    }
  });
});
