// The dashboard in a real browser (Debian's chromium via playwright-core) and /metrics as Prometheus text.
// One proxy runs the fake login script as its `claude`, which hands every non-auth command to the real CLI
// 2.1.197, so the same page can log in and show a live session streaming from the fake upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startProxy } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { chromium } = await import(path.join(SOURCE_DIR, 'tests/node_modules/playwright-core/index.mjs'));

const FAKE_CLAUDE = path.join(SOURCE_DIR, 'tests/fakes/fake-claude-login.sh');
const ARTIFACTS = path.join(SOURCE_DIR, 'tests/artifacts');
const MODEL = 'claude-sonnet-4-5';
const T = { timeout: 180_000 };

let up, proxy, browser;

before(async () => {
  up = await startFakeUpstream();
  proxy = await startProxy({
    config: { claudePath: FAKE_CLAUDE, defaultModel: MODEL },
    env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test', CLAUDE_CODE_MAX_RETRIES: '0' },
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  const r = await proxy?.stop();
  await up?.close();
  assert.equal(r?.code, 0, proxy?.logs().slice(-3000));
  assert.deepEqual(proxy.sanitizerReports(), []);
  proxy.cleanup();
});

// A page that records every console error and uncaught exception.
async function openPage(url, viewport = { width: 1280, height: 900 }) {
  const page = await browser.newPage({ viewport });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(url);
  return { page, problems };
}

// A streamed /v1/messages request; resolves with the whole SSE text when the stream ends.
async function streamMessage(text) {
  const res = await fetch(`${proxy.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'x', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: MODEL, max_tokens: 1024, stream: true, messages: [{ role: 'user', content: text }] }),
  });
  assert.equal(res.status, 200);
  return res.text();
}

// ---- Prometheus text: a strict reading of the exposition format ----
function parsePrometheus(text) {
  const types = new Map(), samples = [];
  const sampleRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$/;
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.split('\n').slice(0, -1)) {
    if (line.startsWith('# HELP ')) continue;
    const t = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/);
    if (t) { assert.ok(!types.has(t[1]), `TYPE ${t[1]} twice`); types.set(t[1], t[2]); continue; }
    const m = line.match(sampleRe);
    assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
    const labels = Object.fromEntries([...(m[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    const family = [...types.keys()].find((f) => m[1] === f || (types.get(f) === 'histogram' && /^(_bucket|_sum|_count)$/.test(m[1].slice(f.length)) && m[1].startsWith(f)));
    assert.ok(family, `sample ${m[1]} before its TYPE`);
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  // Histograms: buckets never decrease and +Inf equals _count.
  for (const [f, type] of types) {
    if (type !== 'histogram') continue;
    const groups = new Map();
    for (const s of samples.filter((x) => x.name === `${f}_bucket`)) {
      const { le, ...rest } = s.labels;
      const k = JSON.stringify(rest);
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push([le === '+Inf' ? Infinity : Number(le), s.value]);
    }
    for (const [k, buckets] of groups) {
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i][0] > buckets[i - 1][0] && buckets[i][1] >= buckets[i - 1][1], `${f} ${k}`);
      const count = samples.find((x) => x.name === `${f}_count` && JSON.stringify(x.labels) === k);
      assert.equal(buckets.at(-1)[0], Infinity);
      assert.equal(buckets.at(-1)[1], count.value, `${f} +Inf == count`);
    }
  }
  return {
    types,
    value(name, labels = {}) {
      const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
      return s ? s.value : 0;
    },
  };
}

async function metrics() {
  const res = await fetch(`${proxy.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

test('/metrics parses as Prometheus text and its counters move with traffic', T, async () => {
  const m0 = await metrics();
  for (const f of ['http_requests_total', 'http_ttfb_seconds', 'http_duration_seconds', 'sessions', 'queue_length',
    'cli_spawns_total', 'cli_spawn_seconds', 'cli_crashes_total', 'interrupts_total', 'turns_rewound_total', 'tokens_total', 'cost_usd_total']) {
    assert.ok(m0.types.has(`claude_ws_proxy_${f}`), f);
  }
  const ok = { endpoint: '/v1/messages', status: '200' };
  const sse = await streamMessage('[[say:counted]]');
  assert.match(sse, /event: message_stop/);
  const m1 = await metrics();
  assert.equal(m1.value('claude_ws_proxy_http_requests_total', ok), m0.value('claude_ws_proxy_http_requests_total', ok) + 1);
  assert.equal(m1.value('claude_ws_proxy_http_duration_seconds_count', { endpoint: '/v1/messages' }),
    m0.value('claude_ws_proxy_http_duration_seconds_count', { endpoint: '/v1/messages' }) + 1);
  assert.ok(m1.value('claude_ws_proxy_tokens_total', { direction: 'output' }) > m0.value('claude_ws_proxy_tokens_total', { direction: 'output' }));
  assert.ok(m1.value('claude_ws_proxy_cli_spawns_total') >= 1);
  assert.equal(m1.value('claude_ws_proxy_cli_spawn_seconds_count'), m1.value('claude_ws_proxy_cli_spawns_total'));
  assert.ok(m1.value('claude_ws_proxy_sessions', { state: 'live' }) >= 1);
  assert.equal(m1.value('claude_ws_proxy_build_info', { cli_version: '2.1.197', transport: 'stdio' }), 1);
  // A path nobody serves is counted under "other", never under its own name.
  await (await fetch(`${proxy.url}/no/such/path?x=1`)).arrayBuffer();
  const m2 = await metrics();
  assert.equal(m2.value('claude_ws_proxy_http_requests_total', { endpoint: 'other', status: '404' }),
    m1.value('claude_ws_proxy_http_requests_total', { endpoint: 'other', status: '404' }) + 1);
});

test('the page: auth state, Login shows the URL and takes the code, a streamed request appears live', T, async () => {
  const { page, problems } = await openPage(proxy.url + '/');
  await page.locator('#auth-state').filter({ hasText: 'Logged in' }).waitFor();
  assert.match(await page.locator('#auth-detail').innerText(), /ANTHROPIC_API_KEY/);
  await page.locator('#cli-state').filter({ hasText: 'v2.1.197' }).waitFor();
  assert.equal(await page.locator('#transport').innerText(), 'stdio');

  await page.click('#login-btn');
  const link = page.locator('#login-url');
  await link.waitFor({ state: 'visible' });
  const href = await link.getAttribute('href');
  assert.match(href, /^https:\/\/claude\.com\/cai\/oauth\/authorize\?/);
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.match(await link.getAttribute('rel'), /noopener/);
  await page.fill('#login-code', 'good#from-the-page');
  await page.click('#login-submit');
  await page.locator('#login-result').filter({ hasText: 'Login successful.' }).waitFor();
  await page.locator('#login-panel').waitFor({ state: 'hidden' });
  assert.ok(fs.readFileSync(path.join(proxy.claudeConfigDir, 'fake-login-codes.txt'), 'utf8').includes('good#from-the-page'));
  assert.ok(fs.existsSync(path.join(proxy.claudeConfigDir, '.credentials.json')), 'the CLI stored the login');

  // A slow stream: the session shows up busy while it runs.
  const streaming = streamMessage('[[slow:200]] [[long:30]] tell me a long story');
  const busyRow = page.locator('#sessions tbody tr[data-session-id]', { hasText: 'busy' });
  await busyRow.first().waitFor({ timeout: 30_000 });
  assert.match(await busyRow.first().innerText(), new RegExp(MODEL));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  await streaming;

  await page.locator('#recent tbody tr', { hasText: '/v1/messages' }).first().waitFor();
  const row = await page.locator('#recent tbody tr', { hasText: '/v1/messages' }).first().innerText();
  assert.match(row, /200/);
  assert.match(row, new RegExp(MODEL));
  await page.locator('#chart-requests rect').first().waitFor({ state: 'attached' });
  await page.locator('#chart-latency polyline, #chart-latency circle').first().waitFor({ state: 'attached' });

  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways on a phone by ${overflow}px`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });

  assert.deepEqual(problems, []);
  await page.close();
});

test('the page: a missing CLI and no credentials are said plainly', T, async () => {
  const bare = await startProxy({ config: { claudePath: '/nonexistent/claude' } });
  try {
    const { page, problems } = await openPage(bare.url + '/');
    await page.locator('#error-banner').filter({ hasText: 'CLI not found at /nonexistent/claude' }).waitFor();
    await page.locator('#auth-state').filter({ hasText: 'Not logged in' }).waitFor();
    await page.locator('#sessions .empty').waitFor();
    await page.locator('#recent .empty').waitFor();
    assert.equal(await page.locator('#logout-btn').isVisible(), false);
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    const r = await bare.stop();
    assert.equal(r.code, 0);
    assert.deepEqual(bare.sanitizerReports(), []);
    bare.cleanup();
  }
});

test('the page asks for the API key when the proxy needs one', T, async () => {
  const key = 'dash-key-456';
  const guarded = await startProxy({ config: { claudePath: '/nonexistent/claude', apiKey: key, requireApiKey: true } });
  try {
    const { page } = await openPage(guarded.url + '/');
    await page.locator('#key-card').waitFor({ state: 'visible' });
    await page.fill('#key-input', key);
    await page.click('#key-card button[type=submit]');
    await page.locator('#key-card').waitFor({ state: 'hidden' });
    await page.locator('#auth-state').filter({ hasText: 'Not logged in' }).waitFor();
    await page.close();
  } finally {
    const r = await guarded.stop();
    assert.equal(r.code, 0);
    guarded.cleanup();
  }
});

test('a client whose User-Agent and model are not clean UTF-8 does not break /api/dashboard', T, async () => {
  // A Latin-1 User-Agent byte, and a model name the recent list cuts in the middle of a character.
  const model = `claude-x${'é'.repeat(40)}`; // 63 bytes kept: the last 'é' is cut in half
  const res = await fetch(`${proxy.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'user-agent': 'odd-client/1 \u00ff' },
    body: JSON.stringify({ model, max_tokens: 64, messages: [{ role: 'user', content: '[[say:fine]]' }] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  await res.arrayBuffer();
  const dash = await fetch(`${proxy.url}/api/dashboard`);
  assert.equal(dash.status, 200, await dash.clone().text());
  const body = await dash.json();
  assert.ok(body.sessions.some((s) => s.client === 'odd-client/1 ?'), JSON.stringify(body.sessions));
  const recent = body.recent.find((r) => r.endpoint === '/v1/messages' && r.model?.startsWith('claude-xé'));
  assert.ok(recent, JSON.stringify(body.recent.slice(0, 3)));
  assert.equal(recent.model, `claude-x${'é'.repeat(27)}?`);
});
