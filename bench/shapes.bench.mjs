// New conversations in the shapes real clients send, through the proxy and, side by side in the same run,
// through claude-max-api-proxy (npm; it spawns a CLI per request). Same CLI (2.1.197), same fake upstream.
// Time to first content (the first text or tool-call delta; a proxy that flushes headers early gets no
// credit for it) of:
//   - a model other than defaultModel (Anthropic, stream);
//   - a system prompt and two client tools (Anthropic, stream);
//   - the OpenAI dialect with a system prompt and tools (stream) — the request both proxies are given.
// The proxy runs with warmSessions 1; WARM_MS between samples lets the pool refill (as between a user's
// conversations). Every sample must be served by a warm process (checked in the proxy's log).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';

import { streamRequest } from './lib/sse.mjs';
import { sleep } from './lib/stream.mjs';

const DEFAULT_MODEL = 'claude-sonnet-4-5';
const OTHER_MODEL = 'claude-opus-4-5';
const CLI_VERSION = '2.1.197';
const MAX_API_PROXY = 'claude-max-api-proxy-1.0.0';
const WARM_MS = 2500;
const TOOLS = [
  { name: 'read_file', description: 'Read a file', input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } },
  { name: 'run', description: 'Run a command', input_schema: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] } },
];
const OPENAI_TOOLS = TOOLS.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } }));
const openaiBody = (i) => ({
  model: OTHER_MODEL, tools: OPENAI_TOOLS,
  messages: [{ role: 'system', content: `You are a coding agent ${i}.` }, { role: 'user', content: `[[say:openai ${i}]]` }],
});

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// claude-max-api-proxy on a free port, running `claude` from PATH (the pinned CLI) against the fake upstream.
async function startMaxApiProxy(sourceDir, claudeBin, upstreamUrl) {
  const pkg = path.join(sourceDir, `.deps/${MAX_API_PROXY}/node_modules/claude-max-api-proxy`);
  if (!fs.existsSync(pkg)) return null;
  const port = await freePort();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'max-api-proxy-'));
  const proc = spawn(process.execPath, [path.join(pkg, 'dist/server/standalone.js'), String(port)], {
    cwd: home, stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: `${path.dirname(claudeBin)}:${process.env.PATH}`, HOME: home, ANTHROPIC_BASE_URL: upstreamUrl,
      ANTHROPIC_API_KEY: 'sk-test', DISABLE_TELEMETRY: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
  });
  let out = '';
  await new Promise((resolve, reject) => {
    const onData = (d) => { out += d; if (out.includes('Server ready')) resolve(); };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (d) => { out += d; });
    proc.on('exit', (code) => reject(new Error(`claude-max-api-proxy exited ${code}: ${out.slice(-500)}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() { proc.kill('SIGTERM'); await new Promise((r) => proc.once('exit', r)); fs.rmSync(home, { recursive: true, force: true }); },
  };
}

export default async function run({ sourceDir, iterations }) {
  const { startFakeUpstream } = await import(path.join(sourceDir, 'tests/fakes/fake-upstream.mjs'));
  const { startProxy } = await import(path.join(sourceDir, 'tests/integration/lib/proxy.mjs'));
  const claude = path.join(sourceDir, `.deps/claude-${CLI_VERSION}/node_modules/.bin/claude`);
  if (!fs.existsSync(claude)) throw new Error(`${claude} not installed (scripts/install-test-deps.sh)`);
  const up = await startFakeUpstream();
  const s = { model: [], tools: [], openai: [], theirs: [] };
  try {
    const proxy = await startProxy({
      config: { claudePath: claude, transport: 'stdio', defaultModel: DEFAULT_MODEL, warmSessions: 1, maxSessions: 5 },
      env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test' },
    });
    try {
      await sleep(WARM_MS);
      await streamRequest(proxy.url, '/v1/messages', { model: DEFAULT_MODEL, max_tokens: 256, messages: [{ role: 'user', content: '[[say:page cache]]' }] });
      for (let i = 0; i < iterations; i++) {
        await sleep(WARM_MS);
        s.model.push((await streamRequest(proxy.url, '/v1/messages', { model: OTHER_MODEL, max_tokens: 256,
          system: `model ${i}`, messages: [{ role: 'user', content: `[[say:model ${i}]]` }] })).ttfc);
        await sleep(WARM_MS);
        s.tools.push((await streamRequest(proxy.url, '/v1/messages', { model: DEFAULT_MODEL, max_tokens: 256, tools: TOOLS,
          system: `You are a coding agent ${i}.`, messages: [{ role: 'user', content: `[[say:tools ${i}]]` }] })).ttfc);
        await sleep(WARM_MS);
        s.openai.push((await streamRequest(proxy.url, '/v1/chat/completions', openaiBody(i))).ttfc);
      }
      const cold = proxy.logEvents('session.spawn').filter((e) => e.warm === '0').length;
      if (cold) throw new Error(`${cold} new conversations paid a spawn`);
    } finally {
      await proxy.stop();
      proxy.cleanup();
    }
    const theirs = await startMaxApiProxy(sourceDir, claude, up.url);
    if (theirs) {
      try {
        await streamRequest(theirs.url, '/v1/chat/completions', openaiBody('warm-up'));
        for (let i = 0; i < iterations; i++) s.theirs.push((await streamRequest(theirs.url, '/v1/chat/completions', openaiBody(i))).ttfc);
      } finally {
        await theirs.stop();
      }
    } else {
      console.error(`${MAX_API_PROXY} not installed (scripts/install-test-deps.sh): no side-by-side figure`);
    }
  } finally {
    await up.close();
  }
  const results = [
    { label: 'new conv., other model (Anthropic)', samplesMs: s.model },
    { label: 'new conv., system + 2 tools (Anthropic)', samplesMs: s.tools },
    { label: 'new conv., OpenAI + tools', samplesMs: s.openai },
  ];
  const comparisons = [];
  if (s.theirs.length) {
    results.push({ label: 'claude-max-api-proxy, OpenAI + tools', samplesMs: s.theirs });
    comparisons.push({ label: 'claude-max-api-proxy vs this proxy', a: 'claude-max-api-proxy, OpenAI + tools', b: 'new conv., OpenAI + tools' });
  }
  return { name: `new conversations by shape (${CLI_VERSION}, stdio, time to first content, n=${iterations})`, results, comparisons };
}
