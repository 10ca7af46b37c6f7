// maxSessions under abort churn: 60 streamed requests whose clients hang up after the first event, 10 at
// a time, maxSessions 4, on fake CLIs that take 300 ms to exit once told to go (as real ones take their time):
// processes on their way out count until they are reaped:
// at no moment do more than maxSessions children live, and the proxy still answers afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startProxy, stopChecked } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));
const { fakeCli, hasSanitizer, rssKb } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/fake-cli.mjs'));

const MODEL = 'claude-fake-1';
const MAX_SESSIONS = 4;
const TOTAL = 60;
const AT_ONCE = 10;

// Live children over the proxy's own log, in order: a spawn adds one, a reaped exit removes one.
function peakChildren(logs) {
  let live = 0;
  let peak = 0;
  for (const line of logs.split('\n')) {
    if (/ session\.spawn .*pid=\d+/.test(line)) peak = Math.max(peak, ++live);
    else if (/ cli\.exit .*pid=\d+/.test(line)) live--;
  }
  return { peak, live };
}

describe('abort churn', () => {
  let proxy;
  let cliDir;
  before(async () => {
    cliDir = fs.mkdtempSync(path.join(os.tmpdir(), 'churn-cli-'));
    const cli = fakeCli(cliDir, { mode: 'slow_exit' });
    proxy = await startProxy({ config: { claudePath: cli.path, defaultModel: MODEL, maxSessions: MAX_SESSIONS,
      warmSessions: 1, maxQueue: 64, queueTimeoutMs: 120000, transport: 'stdio' } });
  });
  after(async () => {
    try {
      await stopChecked(proxy);
    } finally {
      fs.rmSync(cliDir, { recursive: true, force: true });
    }
  });

  async function abortAfterFirstEvent(i) {
    const ac = new AbortController();
    const res = await fetch(`${proxy.url}/v1/messages`, {
      method: 'POST', signal: ac.signal, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 64, stream: true,
        messages: [{ role: 'user', content: `churn ${i} [[slow:50:100]]` }] }),
    });
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    await reader.read();
    ac.abort();
    await reader.closed.catch(() => {});
  }

  function rawPost(body) {
    const text = JSON.stringify(body);
    return `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
  }

  test('a_half_closed_client_still_gets_its_answer', { timeout: 60_000 }, async () => {
    const s = net.connect(proxy.port, '127.0.0.1');
    let data = '';
    s.on('data', (d) => { data += d; });
    const closed = new Promise((resolve) => s.on('close', resolve));
    await new Promise((resolve) => s.once('connect', resolve));
    // shutdown(SHUT_WR) right after the request, as some HTTP tools do
    s.end(rawPost({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: '[[slow:5:200]]' }] }));
    await closed;
    assert.match(data, /^HTTP\/1\.1 200 /);
    const body = JSON.parse(data.slice(data.indexOf('\r\n\r\n') + 4));
    assert.equal(body.type, 'message');
    assert.equal(body.stop_reason, 'end_turn');
  });

  test('big_answers_give_their_memory_back', { timeout: 120_000 }, async (t) => {
    // ASan's allocator keeps freed memory in quarantine, so RSS says nothing there: release builds only.
    if (hasSanitizer(proxy.proc.pid)) return t.skip('RSS is meaningless under ASan (quarantine)');
    // Three 20 MB answers, each kept by an idle session afterwards: what stays is the sessions, not the text.
    const before = rssKb(proxy.proc.pid);
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${proxy.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, max_tokens: 100_000_000, messages: [{ role: 'user', content: `big ${i} [[big:20000000]]` }] }) });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).content[0].text.length, 20_000_000);
    }
    const grownMb = (rssKb(proxy.proc.pid) - before) / 1024;
    assert.ok(grownMb < 25, `proxy RSS grew ${grownMb.toFixed(0)} MB over three 20 MB answers`);
  });

  test('peak_children_stay_within_max_sessions', { timeout: 300_000 }, async () => {
    let next = 0;
    const worker = async () => {
      while (next < TOTAL) await abortAfterFirstEvent(next++);
    };
    await Promise.all(Array.from({ length: AT_ONCE }, worker));
    // The proxy still serves, and the pool settles back within its cap.
    const res = await fetch(`${proxy.url}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: '[[say:still here]]' }] }),
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).content[0].text, 'still here');
    const { peak } = peakChildren(proxy.logs());
    assert.ok(peak <= MAX_SESSIONS, `peak live children ${peak} > maxSessions ${MAX_SESSIONS}`);
    assert.ok(peak >= 2, `the churn ran several processes at once (peak ${peak})`);
  });
});

describe('shutdown at the drain deadline', () => {
  test('open_streams_end_with_an_error_event_not_a_cut', { timeout: 60_000 }, async () => {
    const cliDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drain-cli-'));
    const cli = fakeCli(cliDir, {});
    const proxy = await startProxy({ config: { claudePath: cli.path, defaultModel: MODEL, drainTimeoutMs: 300,
      warmSessions: 0, transport: 'stdio', pingIntervalMs: 0 } });
    try {
      const open = async (p, body) => {
        const res = await fetch(`${proxy.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: MODEL, max_tokens: 64, stream: true, ...body }) });
        assert.equal(res.status, 200);
        const reader = res.body.getReader();
        const first = await reader.read();
        return { reader, text: new TextDecoder().decode(first.value) };
      };
      const streams = [
        await open('/v1/messages', { messages: [{ role: 'user', content: 'a [[stall]]' }] }),
        await open('/v1/chat/completions', { messages: [{ role: 'user', content: 'b [[stall]]' }] }),
      ];
      proxy.proc.kill('SIGTERM');
      for (const s of streams) {
        for (;;) {
          const { done, value } = await s.reader.read(); // a cut connection would reject here
          if (done) break;
          s.text += new TextDecoder().decode(value);
        }
      }
      assert.match(streams[0].text, /event: error\ndata: \{"type":"error"/);
      assert.match(streams[1].text, /"error":\{/);
      const r = await proxy.exited;
      assert.equal(r.code, 0);
      assert.deepEqual(proxy.sanitizerReports(), []);
    } finally {
      await proxy.stop();
      proxy.cleanup();
      fs.rmSync(cliDir, { recursive: true, force: true });
    }
  });
});
