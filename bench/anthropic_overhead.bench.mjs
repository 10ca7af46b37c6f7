// What the proxy adds to one turn: POST /v1/messages (stream) through the proxy, against the same turn
// written straight to a CLI over stdio by a minimal driver. Same CLI, same fake upstream, same answer.
//
// Both sides start from a warm process, so neither pays for a spawn: the proxy keeps warm processes
// (warmSessions) and gets a pause after each request to refill; the direct side spawns its CLI, sends
// `initialize`, and waits WARM_MS before timing the user line. Every turn is a new one-message
// conversation, so no session is resumed on either side.
//   ttfb:  request sent → first SSE byte (proxy) | user line written → first stream_event line (direct)
//   total: request sent → end of the response  | user line written → the `result` line
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const MODEL = 'claude-sonnet-4-5';
const WARM_MS = 2000;
const CLI_VERSION = 'claude-2.1.197';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6;

// One streamed request through the proxy.
function viaProxy(url, text) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model: MODEL, max_tokens: 1024, stream: true, messages: [{ role: 'user', content: text }] });
    const t0 = now();
    let ttfb = null;
    const req = http.request(new URL('/v1/messages', url), {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'x' },
    }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`proxy answered ${res.statusCode}`));
      res.on('data', () => { ttfb ??= now() - t0; });
      res.on('end', () => resolve({ ttfb, total: now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// A CLI spawned like the engine spawns it, initialised, then left to settle.
class DirectCli {
  constructor(claude, env) {
    this.child = spawn(claude, [
      '-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose',
      '--include-partial-messages', '--permission-prompt-tool', 'stdio', '--model', MODEL, '--tools', '',
      '--setting-sources', '', '--strict-mcp-config', '--no-session-persistence',
    ], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    this.waiters = [];
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      let msg;
      try { msg = JSON.parse(line); } catch { return; }
      this.waiters = this.waiters.filter((w) => !w(msg));
    });
  }
  // Resolves with the first line pred accepts.
  next(pred) { return new Promise((resolve) => this.waiters.push((m) => (pred(m) ? (resolve(m), true) : false))); }
  send(obj) { this.child.stdin.write(`${JSON.stringify(obj)}\n`); }
  async warm() {
    const ready = this.next((m) => m.type === 'control_response');
    this.send({ type: 'control_request', request_id: 'init', request: { subtype: 'initialize' } });
    await ready;
    await sleep(WARM_MS);
  }
  async turn(text) {
    const first = this.next((m) => m.type === 'stream_event');
    const result = this.next((m) => m.type === 'result');
    const t0 = now();
    this.send({ type: 'user', message: { role: 'user', content: text }, parent_tool_use_id: null, session_id: '' });
    await first;
    const ttfb = now() - t0;
    const r = await result;
    if (r.is_error) throw new Error(`direct turn failed: ${JSON.stringify(r).slice(0, 200)}`);
    return { ttfb, total: now() - t0 };
  }
  close() {
    this.child.stdin.end();
    setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
  }
}

export default async function run({ sourceDir, iterations }) {
  const { startFakeUpstream } = await import(path.join(sourceDir, 'tests/fakes/fake-upstream.mjs'));
  const { startProxy } = await import(path.join(sourceDir, 'tests/integration/lib/proxy.mjs'));
  const claude = path.join(sourceDir, `.deps/${CLI_VERSION}/node_modules/.bin/claude`);
  const up = await startFakeUpstream();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cwp-bench-'));
  const cliEnv = {
    PATH: process.env.PATH, HOME: home, CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
    ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  };
  const proxy = await startProxy({
    config: { claudePath: claude, defaultModel: MODEL, warmSessions: 1 },
    env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test' },
  });
  const samples = { pTtfb: [], pTotal: [], dTtfb: [], dTotal: [] };
  try {
    // One unmeasured turn each: the very first run of a CLI binary is slower (page cache).
    await sleep(WARM_MS);
    await viaProxy(proxy.url, '[[say:warm up]]');
    const first = new DirectCli(claude, cliEnv);
    await first.warm();
    await first.turn('[[say:warm up]]');
    first.close();

    for (let i = 0; i < iterations; i++) {
      await sleep(WARM_MS); // the proxy refills its warm process
      const p = await viaProxy(proxy.url, `[[say:bench answer ${i}]]`);
      samples.pTtfb.push(p.ttfb);
      samples.pTotal.push(p.total);

      const cli = new DirectCli(claude, cliEnv);
      await cli.warm();
      const d = await cli.turn(`[[say:bench answer ${i}]]`);
      cli.close();
      samples.dTtfb.push(d.ttfb);
      samples.dTotal.push(d.total);
    }
  } finally {
    await proxy.stop?.();
    await up.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
  return {
    name: `anthropic_overhead (${CLI_VERSION}, stream, n=${iterations})`,
    results: [
      { label: 'proxy: first SSE byte', samplesMs: samples.pTtfb },
      { label: 'direct stdio: first stream_event', samplesMs: samples.dTtfb },
      { label: 'proxy: whole response', samplesMs: samples.pTotal },
      { label: 'direct stdio: result line', samplesMs: samples.dTotal },
    ],
    comparisons: [
      { label: 'time to first byte overhead', a: 'proxy: first SSE byte', b: 'direct stdio: first stream_event' },
      { label: 'total time overhead', a: 'proxy: whole response', b: 'direct stdio: result line' },
    ],
  };
}
