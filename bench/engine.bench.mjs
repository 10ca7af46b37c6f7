// The session engine through the real proxy (POST /v1/messages, stream), with the real CLI and the fake
// upstream. Time to first byte (request sent → first SSE byte, which is message_start) of:
//   - a new conversation served by a warm process (warmSessions 1; WARM_MS head start after each refill);
//   - a new conversation that pays a cold spawn (warmSessions 0);
//   - a follow-up turn on the session that holds the conversation (only the new user turn is sent).
// Then the proxy's own memory (VmRSS/VmHWM of the proxy process, not its children) with 5 live sessions.
// One proxy at a time; processes a scenario no longer needs are let go before the next sample.
import fs from 'node:fs';
import path from 'node:path';

import { sleep, streamMessages } from './lib/stream.mjs';

const MODEL = 'claude-sonnet-4-5';
// The CLI benchmarked: CLAUDE_TEST_CLI_VERSION (one of the pinned ones), 2.1.197 by default.
const CLI_VERSION = `claude-${process.env.CLAUDE_TEST_CLI_VERSION || '2.1.197'}`;
const WARM_MS = 3000;
const COLD_IDLE_MS = 2000; // the cold scenario's sessionTimeoutMs: its sessions end before the next sample
const LIVE_SESSIONS = 5;

// One streamed request. Resolves with { ttfb, total, text }.
const stream = (url, body) => streamMessages(url, { model: MODEL, max_tokens: 1024, ...body });

const status = (pid) => fs.readFileSync(`/proc/${pid}/status`, 'utf8');
const kb = (pid, field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status(pid))?.[1] ?? NaN);
const mb = (kbs) => kbs / 1024;

async function activeSessions(proxy) {
  const res = await fetch(`${proxy.url}/health`);
  return (await res.json()).activeSessions;
}

async function withProxy(startProxy, config, env, fn) {
  const proxy = await startProxy({ config: { transport: 'stdio', defaultModel: MODEL, ...config }, env });
  try {
    return await fn(proxy);
  } finally {
    const r = await proxy.stop();
    if (r.code !== 0) console.error(`proxy exited with ${JSON.stringify(r)}`);
    proxy.cleanup();
  }
}

export default async function run({ sourceDir, iterations }) {
  const { startFakeUpstream } = await import(path.join(sourceDir, 'tests/fakes/fake-upstream.mjs'));
  const { startProxy } = await import(path.join(sourceDir, 'tests/integration/lib/proxy.mjs'));
  const claude = path.join(sourceDir, `.deps/${CLI_VERSION}/node_modules/.bin/claude`);
  if (!fs.existsSync(claude)) throw new Error(`${claude} not installed (scripts/install-test-deps.sh)`);
  const up = await startFakeUpstream();
  const env = { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test' };
  const s = { warm: [], cold: [], follow: [], rssIdle: [], rssPeak: [], rssLive: [], children: [] };
  try {
    // New conversations on warm processes. Used sessions end 300 ms after their turn, so the pool refills
    // its warm process at once and no request waits for a spawn.
    await withProxy(startProxy, { claudePath: claude, warmSessions: 1, maxSessions: 3, sessionTimeoutMs: 300 }, env,
      async (proxy) => {
        await sleep(WARM_MS);
        await stream(proxy.url, { messages: [{ role: 'user', content: '[[say:warm up]]' }] }); // page cache
        for (let i = 0; i < iterations; i++) {
          await sleep(WARM_MS);
          const r = await stream(proxy.url, { system: `warm ${i}`, messages: [{ role: 'user', content: `[[say:warm ${i}]]` }] });
          s.warm.push(r.ttfb);
        }
        const cold = proxy.logEvents('session.spawn').filter((e) => e.warm === '0').length;
        if (cold) throw new Error(`${cold} warm-scenario requests paid a spawn`);
      });

    // Cold spawns, each followed by a follow-up on the session it left.
    await withProxy(startProxy, { claudePath: claude, warmSessions: 0, maxSessions: 3, sessionTimeoutMs: COLD_IDLE_MS }, env,
      async (proxy) => {
        for (let i = 0; i < iterations; i++) {
          const first = { system: `cold ${i}`, messages: [{ role: 'user', content: `[[say:cold ${i}]]` }] };
          const r1 = await stream(proxy.url, first);
          s.cold.push(r1.ttfb);
          await sleep(300);
          const r2 = await stream(proxy.url, { ...first, messages: [...first.messages,
            { role: 'assistant', content: r1.text }, { role: 'user', content: `[[say:follow-up ${i}]]` }] });
          s.follow.push(r2.ttfb);
          await proxy.until(async () => (await activeSessions(proxy)) === 0, COLD_IDLE_MS + 10000);
        }
        const reused = proxy.logEvents('session.turn').filter((e) => e.reused === '1').length;
        if (reused !== iterations) throw new Error(`${reused} of ${iterations} follow-ups reused their session`);
      });

    // The proxy's memory with LIVE_SESSIONS sessions streaming at once (and then holding their conversations).
    await withProxy(startProxy, { claudePath: claude, warmSessions: 0, maxSessions: LIVE_SESSIONS, sessionTimeoutMs: 600000 }, env,
      async (proxy) => {
        const pid = proxy.proc.pid;
        s.rssIdle.push(mb(kb(pid, 'VmRSS')));
        const turns = [];
        for (let i = 0; i < LIVE_SESSIONS; i++) {
          turns.push(stream(proxy.url, { system: `live ${i}`, messages: [{ role: 'user', content: '[[slow:40]] [[long:60]]' }] }));
        }
        await proxy.until(async () => (await activeSessions(proxy)) === LIVE_SESSIONS, 60000);
        await Promise.all(turns);
        s.rssLive.push(mb(kb(pid, 'VmRSS')));
        s.rssPeak.push(mb(kb(pid, 'VmHWM')));
        const children = proxy.logEvents('session.spawn').map((e) => Number(e.pid));
        s.children.push(mb(children.reduce((sum, p) => sum + (fs.existsSync(`/proc/${p}`) ? kb(p, 'VmRSS') : 0), 0)));
      });
  } finally {
    await up.close();
  }
  return {
    name: `engine (${CLI_VERSION}, stdio, through the proxy, stream, n=${iterations})`,
    results: [
      { label: 'TTFB new conversation, warm process', samplesMs: s.warm },
      { label: 'TTFB new conversation, cold spawn', samplesMs: s.cold },
      { label: 'TTFB follow-up, reused session', samplesMs: s.follow },
      { label: 'proxy RSS, idle', samples: s.rssIdle, unit: 'MB' },
      { label: `proxy RSS, ${LIVE_SESSIONS} live sessions`, samples: s.rssLive, unit: 'MB' },
      { label: `proxy peak RSS (VmHWM), ${LIVE_SESSIONS} sessions`, samples: s.rssPeak, unit: 'MB' },
      { label: `their ${LIVE_SESSIONS} CLI children's RSS, total`, samples: s.children, unit: 'MB' },
    ],
    comparisons: [
      { label: 'cold spawn vs warm process', a: 'TTFB new conversation, cold spawn', b: 'TTFB new conversation, warm process' },
      { label: 'follow-up vs warm new conversation', a: 'TTFB follow-up, reused session', b: 'TTFB new conversation, warm process' },
    ],
  };
}
