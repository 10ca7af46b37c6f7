// The foundation, on the real binary: command line, start-up errors, /health, /v1/models read by both official
// SDKs, errors in each dialect (404, 405, 415, bad JSON), the proxy's API key, the open-host warning, and a
// graceful shutdown that lets an in-flight request finish.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { startProxy, freePort, PROXY_BIN, CLI_197 } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));

const T = { timeout: 120_000 };
const DEFAULT_IDS = ['claude-sonnet-4-6', 'claude-opus-4-6', 'claude-opus-4-5', 'claude-haiku-4-5',
  'claude-haiku-4-5-20251001', 'claude-sonnet-4-5', 'claude-sonnet-4-5-20250929', 'claude-opus-4-1',
  'claude-opus-4-20250514', 'claude-sonnet-4-20250514', 'claude-3-5-haiku-20241022'];
const ANTHROPIC_VERSION = { 'anthropic-version': '2023-06-01' };

async function request(proxy, pathname, { method = 'GET', headers = {}, body } = {}) {
  const res = await fetch(new URL(pathname, proxy.url), { method, headers, body });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

function assertAnthropicError(res, status, type) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json?.type, 'error', res.text);
  assert.equal(res.json.error.type, type, res.text);
  assert.equal(typeof res.json.error.message, 'string');
  assert.ok(res.json.error.message.length > 0);
}

function assertOpenAIError(res, status, type, code) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json?.type, undefined, `no Anthropic envelope: ${res.text}`);
  assert.deepEqual(Object.keys(res.json.error).sort(), ['code', 'message', 'param', 'type'], res.text);
  assert.equal(res.json.error.type, type, res.text);
  if (code !== undefined) assert.equal(res.json.error.code, code, res.text);
}

function assertPlainError(res, status, type) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json?.type, undefined, res.text);
  assert.equal(res.json.error.type, type, res.text);
  assert.equal(typeof res.json.error.message, 'string');
}

async function stopClean(proxy) {
  const r = await proxy.stop();
  assert.deepEqual(r, { code: 0, signal: null }, `exit ${JSON.stringify(r)}:\n${proxy.logs().slice(-3000)}`);
  assert.deepEqual(proxy.sanitizerReports(), []);
  proxy.cleanup();
}

describe('command line', () => {
  test('--help prints usage and exits 0', () => {
    const r = spawnSync(PROXY_BIN, ['--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /usage: claude-ws-proxy \[--config FILE\]/);
  });

  test('--version prints the version and exits 0', () => {
    const r = spawnSync(PROXY_BIN, ['--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^claude-ws-proxy \d+\.\d+\.\d+\n$/);
  });

  test('an unknown argument is refused', () => {
    const r = spawnSync(PROXY_BIN, ['--frobnicate'], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown argument '--frobnicate'/);
  });
});

describe('start-up problems stop with one line and a non-zero exit', () => {
  // Start, wait for the exit, and return the one line it printed.
  async function failure(options) {
    const proxy = await startProxy({ ...options, wait: false });
    const { code } = await proxy.exited;
    const out = proxy.logs().trim();
    proxy.cleanup();
    assert.notEqual(code, 0, out);
    assert.equal(out.split('\n').length, 1, `one line expected:\n${out}`);
    assert.match(out, /^claude-ws-proxy: /);
    return out;
  }

  test('port in use', T, async () => {
    const blocker = net.createServer();
    await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
    try {
      const out = await failure({ config: { httpPort: blocker.address().port } });
      assert.match(out, /cannot listen on 127\.0\.0\.1:\d+: address already in use/);
    } finally {
      blocker.close();
    }
  });

  test('unreadable config file', T, async () => {
    const out = await failure({ configFile: false, args: ['--config', '/nonexistent/config.json'] });
    assert.match(out, /\/nonexistent\/config\.json: cannot read: No such file or directory/);
  });

  test('config file that is not JSON', T, async () => {
    const file = path.join(os.tmpdir(), `bad-config-${process.pid}.json`);
    fs.writeFileSync(file, '{"httpPort": 3456,\n "wsPort": }\n');
    try {
      const out = await failure({ configFile: false, args: ['--config', file] });
      assert.match(out, /invalid JSON at line 2/);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  test('out-of-range value names the key', T, async () => {
    assert.match(await failure({ config: { maxSessions: 0 } }), /maxSessions: 0 is out of range \(1\.\.\d+\)/);
  });

  test('wrong type names the key', T, async () => {
    assert.match(await failure({ config: { requireApiKey: 'yes' } }), /requireApiKey: expected true or false, got a string/);
  });

  test('unknown key names the key', T, async () => {
    assert.match(await failure({ config: { httpPrt: 3000 } }), /unknown key "httpPrt"/);
  });

  test('bad environment value names the variable', T, async () => {
    assert.match(await failure({ env: { HTTP_PORT: 'eighty' } }), /HTTP_PORT: expected an integer, got "eighty"/);
  });

  test('requireApiKey without apiKey', T, async () => {
    assert.match(await failure({ config: { requireApiKey: true } }), /apiKey: must be set when requireApiKey is true/);
  });
});

describe('open proxy (no key)', () => {
  let up;
  let proxy;

  before(async () => {
    up = await startFakeUpstream();
    proxy = await startProxy({
      config: { modelAliases: { 'gpt-4o': 'claude-sonnet-4-5' } },
      env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test' },
    });
  });

  after(async () => {
    if (proxy) await stopClean(proxy);
    await up?.close();
  });

  test('GET /health reports status, version, credentials and sessions', async () => {
    const res = await request(proxy, '/health');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    const version = spawnSync(PROXY_BIN, ['--version'], { encoding: 'utf8' }).stdout.trim().split(' ')[1];
    assert.equal(res.json.status, 'ok');
    assert.equal(res.json.version, version);
    assert.equal(res.json.authenticated, true, 'ANTHROPIC_API_KEY is set for the CLI');
    assert.equal(res.json.activeSessions, 0);
    assert.ok(['stdio', 'websocket'].includes(res.json.transport), res.text);
    assert.equal(typeof res.json.transportReason, 'string');
  });

  test('the Anthropic SDK lists and retrieves the models', async () => {
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 });
    const ids = [];
    for await (const model of client.models.list()) {
      assert.equal(model.type, 'model');
      assert.ok(model.display_name.length > 0);
      assert.ok(!Number.isNaN(Date.parse(model.created_at)), model.created_at);
      ids.push(model.id);
    }
    assert.deepEqual(ids, DEFAULT_IDS);
    const page = await client.models.list();
    assert.equal(page.has_more, false);
    assert.equal(page.first_id, DEFAULT_IDS[0]);
    assert.equal(page.last_id, DEFAULT_IDS.at(-1));

    const model = await client.models.retrieve('claude-sonnet-4-5');
    assert.equal(model.id, 'claude-sonnet-4-5');
    assert.equal(model.display_name, 'Claude Sonnet 4.5');
    assert.equal(model.type, 'model');
  });

  test('the Anthropic SDK pages through the list with limit', async () => {
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 });
    const first = await client.models.list({ limit: 4 });
    assert.equal(first.data.length, 4);
    assert.equal(first.has_more, true);
    const ids = [];
    for await (const model of client.models.list({ limit: 4 })) ids.push(model.id);
    assert.deepEqual(ids, DEFAULT_IDS, 'auto-pagination follows last_id');
    const bad = await request(proxy, '/v1/models?limit=0', { headers: ANTHROPIC_VERSION });
    assertAnthropicError(bad, 400, 'invalid_request_error');
  });

  test('the openai SDK lists and retrieves the models', async () => {
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const list = await client.models.list();
    assert.deepEqual(list.data.map((m) => m.id), DEFAULT_IDS);
    for (const m of list.data) {
      assert.equal(m.object, 'model');
      assert.equal(m.owned_by, 'anthropic');
      assert.ok(Number.isInteger(m.created) && m.created > 1_700_000_000, String(m.created));
    }
    const opus = await client.models.retrieve('claude-opus-4-5');
    assert.equal(opus.id, 'claude-opus-4-5');
    assert.equal(opus.object, 'model');
    assert.equal(opus.created, Date.parse(opus.created_at) / 1000);
    const alias = await client.models.retrieve('gpt-4o');
    assert.equal(alias.id, 'gpt-4o', 'an alias answers as itself');
    assert.equal(alias.display_name, 'Claude Sonnet 4.5');
  });

  test('an unknown model id is a 404 in the caller\'s dialect', async () => {
    const anthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 });
    await assert.rejects(anthropic.models.retrieve('claude-nope-9'), (err) => {
      assert.ok(err instanceof Anthropic.NotFoundError, String(err));
      assert.equal(err.error.type, 'error');
      assert.equal(err.error.error.type, 'not_found_error');
      assert.match(err.error.error.message, /claude-nope-9/);
      return true;
    });
    const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await assert.rejects(openai.models.retrieve('claude-nope-9'), (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, String(err));
      assert.equal(err.code, 'model_not_found');
      assert.equal(err.type, 'invalid_request_error');
      assert.equal(err.param, 'model');
      return true;
    });
  });

  test('an unknown route is a 404: Anthropic, OpenAI or plain shape', async () => {
    assertAnthropicError(await request(proxy, '/v1/nope', { method: 'POST', headers: ANTHROPIC_VERSION }), 404,
      'not_found_error');
    assertOpenAIError(await request(proxy, '/v1/nope', { method: 'POST' }), 404, 'invalid_request_error');
    assertPlainError(await request(proxy, '/nope'), 404, 'not_found_error');
  });

  test('API paths answer without /v1, with a doubled /v1 and with stray slashes (base URLs clients get wrong)', async () => {
    for (const p of ['/models', '/v1//models', '/v1/models/', '/v1/v1/models', '/v1///models/']) {
      const res = await request(proxy, p);
      assert.equal(res.status, 200, `${p}: ${res.text}`);
      assert.equal(res.json.data.length > 0, true, p);
    }
    assertAnthropicError(await request(proxy, '/messages', { method: 'POST', headers: ANTHROPIC_VERSION, body: '{}' }),
      400, 'invalid_request_error');
    assertOpenAIError(await request(proxy, '/chat/completions', { method: 'POST', body: '{}' }), 400,
      'invalid_request_error');
    // Both SDKs with the base URL the other dialect wants still reach the proxy.
    const openai = new OpenAI({ baseURL: proxy.url, apiKey: 'x' });
    assert.ok((await openai.models.list()).data.length > 0);
    const anthropic = new Anthropic({ baseURL: `${proxy.url}/v1`, apiKey: 'x' });
    assert.ok((await anthropic.models.list()).data.length > 0);
    assertPlainError(await request(proxy, '/messagesx'), 404, 'not_found_error');
  });

  test('a wrong method is a 405 with allow, in the route\'s dialect', async () => {
    const messages = await request(proxy, '/v1/messages');
    assertAnthropicError(messages, 405, 'invalid_request_error');
    assert.match(messages.headers.get('allow'), /POST/);
    const chat = await request(proxy, '/v1/chat/completions', { method: 'PUT', body: '{}' });
    assertOpenAIError(chat, 405, 'invalid_request_error');
    assert.match(chat.headers.get('allow'), /POST/);
    assertPlainError(await request(proxy, '/health', { method: 'DELETE' }), 405, 'invalid_request_error');
  });

  test('a body that is not JSON by its content type is a 415', async () => {
    const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    assertAnthropicError(await request(proxy, '/v1/messages', { method: 'POST', headers: { 'content-type': 'application/xml' }, body }),
      415, 'invalid_request_error');
    assertOpenAIError(await request(proxy, '/v1/chat/completions', {
      method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body,
    }), 415, 'invalid_request_error', 'unsupported_media_type');
    assert.equal(up.turns().length, 0, 'nothing reached the CLI');
  });

  test('curl -d (form content type) with a JSON body is read as JSON', async () => {
    const res = await request(proxy, '/v1/messages/count_tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hello there' }] }),
    });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.json.input_tokens > 0);
  });

  test('malformed JSON is a 400 invalid_request_error in both dialects', async () => {
    const headers = { 'content-type': 'application/json' };
    const anthropic = await request(proxy, '/v1/messages', { method: 'POST', headers, body: '{"model": ' });
    assertAnthropicError(anthropic, 400, 'invalid_request_error');
    assert.match(anthropic.json.error.message, /JSON/);
    const openai = await request(proxy, '/v1/chat/completions', { method: 'POST', headers, body: '{"model": ' });
    assertOpenAIError(openai, 400, 'invalid_request_error');
    assert.match(openai.json.error.message, /JSON/);
    const notObject = await request(proxy, '/v1/chat/completions', { method: 'POST', headers, body: '[1]' });
    assertOpenAIError(notObject, 400, 'invalid_request_error');
    assert.equal(up.turns().length, 0, 'nothing reached the CLI');
  });
});

describe('API key required', () => {
  const KEY = 'sk-proxy-test-0123456789';
  const LEGACY = 'legacy-token-abc';
  let proxy;

  before(async () => {
    proxy = await startProxy({ config: { requireApiKey: true, apiKey: KEY, authToken: LEGACY } });
  });

  after(async () => {
    if (proxy) await stopClean(proxy);
  });

  test('/health stays open', async () => {
    assert.equal((await request(proxy, '/health')).status, 200);
  });

  test('no key is a 401 in the caller\'s dialect', async () => {
    const anthropic = await request(proxy, '/v1/models', { headers: ANTHROPIC_VERSION });
    assertAnthropicError(anthropic, 401, 'authentication_error');
    assert.match(anthropic.json.error.message, /x-api-key|Authorization/);
    assertOpenAIError(await request(proxy, '/v1/models'), 401, 'invalid_request_error', 'invalid_api_key');
    assertAnthropicError(await request(proxy, '/v1/messages', { method: 'POST', body: '{}' }), 401, 'authentication_error');
    assertOpenAIError(await request(proxy, '/v1/chat/completions', { method: 'POST', body: '{}' }), 401,
      'invalid_request_error', 'invalid_api_key');
  });

  test('a wrong key is a 401', async () => {
    for (const headers of [{ 'x-api-key': `${KEY}x` }, { authorization: `Bearer ${KEY.slice(0, -1)}` }, { authorization: `Basic ${KEY}` }]) {
      const res = await request(proxy, '/v1/models', { headers: { ...headers, ...ANTHROPIC_VERSION } });
      assertAnthropicError(res, 401, 'authentication_error');
    }
  });

  test('the key passes in x-api-key or Authorization: Bearer, and so does the legacy authToken', async () => {
    for (const headers of [{ 'x-api-key': KEY }, { authorization: `Bearer ${KEY}` }, { 'x-api-key': LEGACY },
      { authorization: `bearer ${LEGACY}` }]) {
      const res = await request(proxy, '/v1/models', { headers });
      assert.equal(res.status, 200, `${JSON.stringify(headers)}: ${res.text}`);
    }
  });

  test('both SDKs authenticate with the key and fail without it', async () => {
    const anthropic = new Anthropic({ baseURL: proxy.url, apiKey: KEY, maxRetries: 0 });
    assert.equal((await anthropic.models.list()).data.length, DEFAULT_IDS.length);
    const anthropicBearer = new Anthropic({ baseURL: proxy.url, apiKey: null, authToken: KEY, maxRetries: 0 });
    assert.equal((await anthropicBearer.models.retrieve('claude-opus-4-5')).id, 'claude-opus-4-5');
    await assert.rejects(new Anthropic({ baseURL: proxy.url, apiKey: 'wrong', maxRetries: 0 }).models.list(),
      Anthropic.AuthenticationError);
    const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: KEY, maxRetries: 0 });
    assert.equal((await openai.models.list()).data.length, DEFAULT_IDS.length);
    await assert.rejects(new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'wrong', maxRetries: 0 }).models.list(),
      OpenAI.AuthenticationError);
  });
});

describe('settings that change start-up', () => {
  test('the legacy authToken alone closes the proxy', T, async () => {
    const proxy = await startProxy({ config: { authToken: 'only-token' } });
    try {
      assert.equal((await request(proxy, '/v1/models')).status, 401);
      assert.equal((await request(proxy, '/v1/models', { headers: { 'x-api-key': 'only-token' } })).status, 200);
    } finally {
      await stopClean(proxy);
    }
  });

  test('a non-loopback host without a key prints a loud warning', T, async () => {
    const proxy = await startProxy({ config: { host: '0.0.0.0' } });
    try {
      await proxy.until(() => proxy.logs().includes('WARNING'));
      assert.match(proxy.logs(), /WARNING: listening on 0\.0\.0\.0 with no API key/);
      assert.equal((await request(proxy, '/health')).status, 200, 'loopback traffic still reaches 0.0.0.0');
    } finally {
      await stopClean(proxy);
    }
  });

  test('no warning on a non-loopback host with a key, nor on loopback', T, async () => {
    const keyed = await startProxy({ config: { host: '0.0.0.0', requireApiKey: true, apiKey: 'k' } });
    const local = await startProxy();
    try {
      assert.doesNotMatch(keyed.logs(), /WARNING/);
      assert.doesNotMatch(local.logs(), /WARNING/);
    } finally {
      await stopClean(keyed);
      await stopClean(local);
    }
  });

  test('/health says unauthenticated until the CLI has credentials', T, async () => {
    const proxy = await startProxy(); // no ANTHROPIC_API_KEY, empty claudeConfigDir
    try {
      assert.equal((await request(proxy, '/health')).json.authenticated, false);
      fs.writeFileSync(path.join(proxy.claudeConfigDir, '.credentials.json'), '{"claudeAiOauth":{}}');
      assert.equal((await request(proxy, '/health')).json.authenticated, true);
    } finally {
      await stopClean(proxy);
    }
  });

  test('config.example.json starts the proxy and README documents every key in it', T, async () => {
    const example = JSON.parse(fs.readFileSync(path.join(SOURCE_DIR, 'config.example.json'), 'utf8'));
    const readme = fs.readFileSync(path.join(SOURCE_DIR, 'README.md'), 'utf8');
    for (const key of Object.keys(example)) assert.ok(readme.includes(`| \`${key}\` |`), `README lacks ${key}`);
    const proxy = await startProxy({
      config: { ...example, httpPort: await freePort(), wsPort: await freePort(), claudePath: CLI_197, warmSessions: 0 },
    });
    try {
      const models = await request(proxy, '/v1/models');
      assert.deepEqual(models.json.data.map((m) => m.id), example.models.map((m) => m.id));
    } finally {
      await stopClean(proxy);
    }
  });

  test('environment overrides config.json', T, async () => {
    const port = await freePort();
    const proxy = await startProxy({ env: { HTTP_PORT: String(port) }, wait: false });
    const healthy = (p) => fetch(`http://127.0.0.1:${p}/health`).then((r) => r.ok, () => false);
    try {
      assert.notEqual(proxy.port, port);
      await proxy.until(() => healthy(port));
      assert.equal(await healthy(proxy.port), false, 'the file\'s httpPort is not used');
    } finally {
      await stopClean(proxy);
    }
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM on an idle proxy exits 0', T, async () => {
    const proxy = await startProxy();
    await stopClean(proxy);
    assert.match(proxy.logs(), /shutdown\.begin/);
  });

  test('SIGTERM lets an in-flight request finish, then exits 0', T, async () => {
    const up = await startFakeUpstream();
    const proxy = await startProxy({ env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test' } });
    try {
      const pending = request(proxy, '/v1/messages', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...ANTHROPIC_VERSION },
        body: JSON.stringify({
          model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: '[[slow:150]] [[long:8]]' }],
        }),
      });
      await proxy.until(() => up.turns().length > 0, 60_000);
      proxy.proc.kill('SIGTERM');
      const res = await pending;
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.content[0].text, 'w1 w2 w3 w4 w5 w6 w7 w8');
      const exit = await proxy.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, proxy.logs().slice(-3000));
      assert.deepEqual(proxy.sanitizerReports(), []);
      assert.match(proxy.logs(), /shutdown\.begin signal=15 active=1\b/, 'the request was in flight at SIGTERM');
      assert.ok(proxy.logs().indexOf('shutdown.begin') < proxy.logs().indexOf('shutdown.done'));
    } finally {
      await proxy.stop();
      proxy.cleanup();
      await up.close();
    }
  });
});
