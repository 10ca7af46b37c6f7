// What the proxy adds to one turn: POST /v1/messages (stream) through the proxy, against the same turn
// written straight to a CLI over stdio by a minimal driver. Same CLI, same fake upstream, same answer, and
// the same work on the CLI's side:
//   - both start from a process spawned WARM_MS earlier that has read nothing yet (the proxy keeps one
//     warm process, warmSessions 1, and gets a pause after each request to refill it);
//   - both then send `initialize` (with the host MCP server "client" and an empty system prompt) and the
//     user line together, and answer the CLI's mcp_message requests (initialize, tools/list: no tools);
//   - every turn is a new one-message conversation, so no session is reused on either side.
//   ttfb:  request sent → first SSE byte (proxy) | lines written → first stream_event line (direct)
//   total: request sent → end of the response  | lines written → the `result` line
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

import { now, sleep, streamMessages } from './lib/stream.mjs';

const MODEL = 'claude-sonnet-4-5';
const WARM_MS = 3000;
// The CLI benchmarked: CLAUDE_TEST_CLI_VERSION (one of the pinned ones), 2.1.197 by default.
const CLI_VERSION = `claude-${process.env.CLAUDE_TEST_CLI_VERSION || '2.1.197'}`;
// As the engine spawns it in api mode (src/engine/cli.c).
const CLI_ARGS = [
  '-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose',
  '--include-partial-messages', '--permission-prompt-tool', 'stdio', '--no-session-persistence',
  '--mcp-config', '{"mcpServers":{"client":{"type":"sdk","name":"client"}}}',
  '--tools', '', '--setting-sources', '', '--strict-mcp-config', '--model', MODEL,
];

// One streamed request through the proxy.
const viaProxy = (url, text) =>
  streamMessages(url, { model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content: text }] });

// The CLI as the engine drives it, with only what a turn needs: initialize, the user line, and answers to
// the CLI's requests of the host.
class DirectCli {
  constructor(claude, env) {
    this.child = spawn(claude, CLI_ARGS, { env, stdio: ['pipe', 'pipe', 'ignore'], cwd: env.HOME });
    this.waiters = [];
    this.spawnedAt = now();
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      let msg;
      try { msg = JSON.parse(line); } catch { return; }
      if (msg.type === 'control_request') this.answer(msg);
      this.waiters = this.waiters.filter((w) => !w(msg));
    });
  }

  answer({ request_id, request }) {
    let response = {};
    if (request?.subtype === 'mcp_message') {
      const { id, method } = request.message ?? {};
      let result = {};
      if (method === 'initialize') {
        result = { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'client', version: '1.0.0' } };
      } else if (method === 'tools/list') {
        result = { tools: [] };
      }
      response = { mcp_response: { jsonrpc: '2.0', id: id ?? 0, result } };
    } else if (request?.subtype === 'can_use_tool') {
      response = { behavior: 'deny', message: 'no tools here' };
    }
    this.send({ type: 'control_response', response: { subtype: 'success', request_id, response } });
  }

  // Resolves with the first line pred accepts.
  next(pred) { return new Promise((resolve) => this.waiters.push((m) => (pred(m) ? (resolve(m), true) : false))); }
  send(obj) { this.child.stdin.write(`${JSON.stringify(obj)}\n`); }

  async turn(text) {
    await sleep(Math.max(0, WARM_MS - (now() - this.spawnedAt)));
    const first = this.next((m) => m.type === 'stream_event');
    const result = this.next((m) => m.type === 'result');
    const t0 = now();
    this.send({ type: 'control_request', request_id: 'init', request: { subtype: 'initialize', sdkMcpServers: ['client'], systemPrompt: '' } });
    this.send({ type: 'user', message: { role: 'user', content: text }, parent_tool_use_id: null, session_id: '' });
    await first;
    const ttfb = now() - t0;
    const r = await result;
    const total = now() - t0;
    if (r.is_error) throw new Error(`direct turn failed: ${JSON.stringify(r).slice(0, 300)}`);
    return { ttfb, total };
  }

  close() {
    this.child.stdin.end();
    setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
  }
}

async function direct(claude, env, text) {
  const cli = new DirectCli(claude, env);
  try {
    return await cli.turn(text);
  } finally {
    cli.close();
  }
}

export default async function run({ sourceDir, iterations }) {
  const { startFakeUpstream } = await import(path.join(sourceDir, 'tests/fakes/fake-upstream.mjs'));
  const { startProxy } = await import(path.join(sourceDir, 'tests/integration/lib/proxy.mjs'));
  const claude = path.join(sourceDir, `.deps/${CLI_VERSION}/node_modules/.bin/claude`);
  if (!fs.existsSync(claude)) throw new Error(`${claude} not installed (scripts/install-test-deps.sh)`);
  const up = await startFakeUpstream();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cwp-bench-'));
  const cliEnv = {
    PATH: process.env.PATH, HOME: home, CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
    ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test',
    // What the engine puts in its children's environment (src/transport/cli_env.c, src/engine/cli_versions.c).
    DISABLE_TELEMETRY: '1', DISABLE_ERROR_REPORTING: '1', DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', CLAUDE_CODE_MAX_RETRIES: '0',
    ENABLE_TOOL_SEARCH: 'false', CLAUDE_CODE_TOTAL_TOKENS_REMINDER: 'off', CLAUDE_CODE_THINKING_DISPLAY_UPDATES: '0',
  };
  const proxy = await startProxy({
    // Used processes close soon after their turn (sessionTimeoutMs), so the pool always has room to refill
    // its warm one and no request ever waits for a spawn.
    config: { claudePath: claude, transport: 'stdio', defaultModel: MODEL, warmSessions: 1, maxSessions: 3, sessionTimeoutMs: 300 },
    env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
  });
  const samples = { pTtfb: [], pTotal: [], dTtfb: [], dTotal: [] };
  try {
    // One unmeasured turn each: the very first run of a CLI binary is slower (page cache).
    await sleep(WARM_MS);
    await viaProxy(proxy.url, '[[say:warm up]]');
    await direct(claude, cliEnv, '[[say:warm up]]');

    for (let i = 0; i < iterations; i++) {
      // Both processes get about the same head start: the direct one is spawned now, and the proxy refilled
      // its warm one just after the previous request.
      const text = `[[say:bench answer ${i}]]`;
      const cli = new DirectCli(claude, cliEnv);
      try {
        await sleep(WARM_MS);
        // Direct first: the proxy refills its warm process right after its request, and that spawn must
        // not compete with the other side's turn.
        const d = await cli.turn(text);
        const p = await viaProxy(proxy.url, text);
        samples.pTtfb.push(p.ttfb);
        samples.pTotal.push(p.total);
        samples.dTtfb.push(d.ttfb);
        samples.dTotal.push(d.total);
      } finally {
        cli.close();
      }
    }
    const reused = proxy.logEvents('session.turn').filter((e) => e.reused === '1').length;
    if (reused) throw new Error(`${reused} proxy turns reused a session: not the same work as the direct side`);
  } finally {
    await proxy.stop?.();
    proxy.cleanup?.();
    await up.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
  return {
    name: `anthropic_overhead (${CLI_VERSION}, stdio, stream, warm process, no reuse, n=${iterations})`,
    results: [
      { label: 'proxy: first SSE byte', samplesMs: samples.pTtfb },
      { label: 'direct stdio: first stream_event', samplesMs: samples.dTtfb },
      { label: 'proxy: whole response', samplesMs: samples.pTotal },
      { label: 'direct stdio: result line', samplesMs: samples.dTotal },
      // The same turn's two timings side by side: steadier than a difference of medians.
      { label: 'paired: proxy - direct, first byte', samplesMs: samples.pTtfb.map((p, i) => p - samples.dTtfb[i]) },
      { label: 'paired: proxy - direct, total', samplesMs: samples.pTotal.map((p, i) => p - samples.dTotal[i]) },
    ],
    comparisons: [
      { label: 'time to first byte overhead', a: 'proxy: first SSE byte', b: 'direct stdio: first stream_event' },
      { label: 'total time overhead', a: 'proxy: whole response', b: 'direct stdio: result line' },
    ],
  };
}
