// `make soak`: a bounded load run on loopback. The release proxy on fake CLIs (tests/fakes/fake_cli.c, so the
// figures are the proxy's own, not a model's), maxSessions 8, driven by a small HTTP client at concurrency
// 1, 8 and 32 for SOAK_SECONDS each (default 30), then abort churn (streams cut after their first event,
// 10 at a time). Prints per phase: requests/s, latency p50/p99, 429s, other failures (each one's status and
// body), peak live children (sampled from /proc every 5 ms), and the proxy's RSS and open fds before and after.
// SOAK_CLI=real runs the pinned CLI 2.1.197 against the fake upstream instead (heavier: ~160 MB a child).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const sourceDir = path.resolve(import.meta.dirname, '..');
process.env.SOURCE_DIR ??= sourceDir;
process.env.BUILD_DIR ??= path.join(sourceDir, 'build');
const { startProxy, CLI_197 } = await import(path.join(sourceDir, 'tests/integration/lib/proxy.mjs'));
const { fakeCli, fdCount, rssKb } = await import(path.join(sourceDir, 'tests/integration/lib/fake-cli.mjs'));
const { startFakeUpstream } = await import(path.join(sourceDir, 'tests/fakes/fake-upstream.mjs'));

const SECONDS = Number(process.env.SOAK_SECONDS) || 30;
const MODEL = 'claude-sonnet-4-5';
const isReal = process.env.SOAK_CLI === 'real';
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-'));
let upstream = null;
let config = { defaultModel: MODEL, maxSessions: 8, warmSessions: 2, maxQueue: 64, queueTimeoutMs: 60000,
  transport: 'stdio', logLevel: 'info' };
let env = {};
if (isReal) {
  upstream = await startFakeUpstream();
  config = { ...config, claudePath: CLI_197, maxSessions: 4 };
  env = { ANTHROPIC_BASE_URL: upstream.url, ANTHROPIC_API_KEY: 'sk-test' };
} else {
  config.claudePath = fakeCli(dir, {}).path;
}
const proxy = await startProxy({ config, env });
const url = new URL(proxy.url);

function post(body, { abortAfterFirstChunk = false } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const data = JSON.stringify(body);
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/v1/messages', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.once('data', () => { if (abortAfterFirstChunk) req.destroy(); });
      res.on('data', (d) => { if (res.statusCode !== 200 && text.length < 300) text += d; });
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0, text }));
      res.on('close', () => resolve({ status: abortAfterFirstChunk ? 'aborted' : res.statusCode, ms: performance.now() - t0, text }));
    });
    req.on('error', (e) => resolve({ status: abortAfterFirstChunk ? 'aborted' : 'error', ms: performance.now() - t0,
      text: e.code || e.message }));
    req.end(data);
  });
}

// The proxy's children not yet reaped (zombies included: they still hold their slot), from /proc. The proxy's
// own log cannot tell: past 200 lines of one event a second its limiter leaves spawn and exit lines out.
function liveChildren() {
  const pid = proxy.proc.pid;
  return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).length;
}
const pct = (xs, p) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] : NaN);

async function phase(name, concurrency, makeRequest) {
  let peak = liveChildren();
  const sampler = setInterval(() => { peak = Math.max(peak, liveChildren()); }, 5);
  const before = { rss: rssKb(proxy.proc.pid), fds: fdCount(proxy.proc.pid) };
  const results = [];
  const end = Date.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) results.push(await makeRequest(n++));
  }));
  clearInterval(sampler);
  const after = { rss: rssKb(proxy.proc.pid), fds: fdCount(proxy.proc.pid) };
  const ok = results.filter((r) => r.status === 200 || r.status === 'aborted');
  const lat = ok.map((r) => r.ms);
  const row = {
    phase: name, concurrency, requests: results.length, 'req/s': +(results.length / SECONDS).toFixed(1),
    'p50 ms': +pct(lat, 0.5).toFixed(1), 'p99 ms': +pct(lat, 0.99).toFixed(1),
    '429s': results.filter((r) => r.status === 429).length,
    failures: results.filter((r) => r.status !== 200 && r.status !== 429 && r.status !== 'aborted').length,
    'peak children': peak, 'RSS MB before/after': `${(before.rss / 1024).toFixed(1)}/${(after.rss / 1024).toFixed(1)}`,
    'fds before/after': `${before.fds}/${after.fds}`,
  };
  console.log(JSON.stringify(row));
  // What each failure was: its status and the start of its body (or the socket error).
  for (const r of results.filter((x) => x.status !== 200 && x.status !== 429 && x.status !== 'aborted'))
    console.log(`  failure: ${r.status} after ${r.ms.toFixed(0)} ms: ${String(r.text).slice(0, 200)}`);
  return row;
}

const ask = (i) => post({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: `soak ${i % 50} [[say:ok]]` }] });
const streamAsk = (i) => post({ model: MODEL, max_tokens: 64, stream: true,
  messages: [{ role: 'user', content: `churn ${i} [[slow:20:50]]` }] }, { abortAfterFirstChunk: true });

console.log(`soak: ${isReal ? 'CLI 2.1.197 + fake upstream' : 'fake CLI'}, maxSessions ${config.maxSessions}, ${SECONDS} s a phase`);
const rows = [];
try {
  for (const c of [1, 8, 32]) rows.push(await phase(`messages c=${c}`, c, ask));
  rows.push(await phase('abort churn', 10, streamAsk));
  console.table(rows);
} finally {
  agent.destroy();
  await proxy.stop();
  proxy.cleanup();
  if (upstream) await upstream.close?.();
  fs.rmSync(dir, { recursive: true, force: true });
}
