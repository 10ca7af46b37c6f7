// Real client traffic replayed through the proxy: the requests in ../shared/traces/ (pi, opencode, cline,
// continue, qwen, openclaw; recorded from those clients, one JSON per line), in order, with their own
// headers and bodies, against the real CLI 2.1.197 and the fake upstream. The only edit: the tool-call ids
// the recorded follow-ups carry are replaced by the ids this run's answers gave, transformed the way the
// client transformed them (OpenClaw keeps only [A-Za-z0-9]).
// Per trace: time to first content of new-conversation turns and of follow-up turns, and the share of
// follow-ups served by a live session (the proxy logged session.turn reused=1 or session.tool_results for
// that request id; a seeded or cold process does not count).
// A client's new conversation starts GAP_MS after the previous answer (the pool refills meanwhile);
// follow-ups are sent at once, as the clients do after running a tool.
import fs from 'node:fs';
import path from 'node:path';

import { streamRequest } from './lib/sse.mjs';
import { traceDir } from './lib/traces.mjs';
import { sleep } from './lib/stream.mjs';

const CLI_VERSION = '2.1.197';
const TRACES = ['pi', 'opencode', 'cline', 'continue', 'qwen', 'openclaw'];
const GAP_MS = 2500;

// A follow-up carries an earlier answer (some clients send several user messages in a new conversation).
const isFollowUp = (body) => (body.messages || []).some((m) => m.role === 'assistant');

// Every tool-call id a request's assistant messages carry, in order.
function recordedIds(body) {
  const ids = [];
  for (const m of body.messages || []) {
    if (m.role !== 'assistant') continue;
    for (const c of m.tool_calls || []) ids.push(c.id);
    if (Array.isArray(m.content)) for (const b of m.content) if (b.type === 'tool_use') ids.push(b.id);
  }
  return ids;
}

const textOf = (content) => (typeof content === 'string' ? content
  : (content || []).filter((b) => b.type === 'text').map((b) => b.text).join(''));

const signature = (body) => JSON.stringify([body.system ?? null,
  (body.messages || []).filter((m) => m.role === 'system' || m.role === 'developer'), body.tools ?? null]);

function replaceStrings(value, map) {
  if (typeof value === 'string') return map.get(value) ?? value;
  if (Array.isArray(value)) return value.map((v) => replaceStrings(v, map));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceStrings(v, map)]));
  return value;
}

async function replay(proxy, file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const idMap = new Map();
  let lastIds = [];
  const answers = new Map(); // answer text -> signature of the request it answered
  let lastSig = null;
  const turns = [];
  for (const rec of lines) {
    const body0 = typeof rec.body === 'string' ? JSON.parse(rec.body) : rec.body;
    // The calls of the last assistant message are the ones the previous answer made (the traces repeat
    // their conversations, so a recorded id is mapped anew each time).
    const lastAssistant = (body0.messages || []).filter((m) => m.role === 'assistant').at(-1);
    const calls = lastAssistant ? recordedIds({ messages: [lastAssistant] }) : [];
    if (calls.length && lastIds.length) {
      calls.forEach((id, k) => {
        const actual = lastIds[k];
        if (actual) idMap.set(id, /^[A-Za-z0-9]+$/.test(id) ? actual.replace(/[^A-Za-z0-9]/g, '') : actual);
      });
      lastIds = [];
    }
    const body = replaceStrings(body0, idMap);
    // A follow-up extends an answer of this run (its calls, or its text); other history came from
    // elsewhere (Qwen's memory agent sends a made-up exchange): a seeded conversation, not counted.
    const lastText = lastAssistant ? textOf(lastAssistant.content) : '';
    // (Same system prompt and tools too: Qwen forks a conversation into its memory agent with others.)
    const sig = signature(body);
    const followUp = isFollowUp(body) && ((calls.length && lastSig === sig && calls.every((id) => idMap.has(id)))
      || answers.get(lastText) === sig);
    const seeded = isFollowUp(body) && !followUp;
    if (!followUp) await sleep(GAP_MS);
    const r = await streamRequest(proxy.url, rec.path, body, rec.headers);
    if (r.toolIds.length) [lastIds, lastSig] = [[...r.toolIds], sig];
    if (r.text) answers.set(r.text, sig);
    turns.push({ followUp, seeded, ttfc: r.ttfc, requestId: r.requestId });
  }
  const live = new Set([
    ...proxy.logEvents('session.turn').filter((e) => e.reused === '1').map((e) => e.request_id),
    ...proxy.logEvents('session.tool_results').map((e) => e.request_id),
  ]);
  for (const t of turns) t.isLive = live.has(t.requestId);
  return turns;
}

export default async function run({ sourceDir }) {
  const { startFakeUpstream } = await import(path.join(sourceDir, 'tests/fakes/fake-upstream.mjs'));
  const { startProxy } = await import(path.join(sourceDir, 'tests/integration/lib/proxy.mjs'));
  const claude = path.join(sourceDir, `.deps/claude-${CLI_VERSION}/node_modules/.bin/claude`);
  if (!fs.existsSync(claude)) throw new Error(`${claude} not installed (scripts/install-test-deps.sh)`);
  const dir = traceDir(sourceDir);
  if (!dir) return { skipped: '../shared/traces not beside the checkout (set TRACES_DIR)' };
  const up = await startFakeUpstream();
  const results = [];
  const summary = [];
  try {
    for (const name of TRACES) {
      const file = path.join(dir, `${name}.jsonl`);
      if (!fs.existsSync(file)) continue;
      const proxy = await startProxy({
        config: { claudePath: claude, transport: 'stdio', defaultModel: 'claude-sonnet-4-5', warmSessions: 1, maxSessions: 5 },
        env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: 'sk-test' },
      });
      try {
        const turns = await replay(proxy, file);
        const fresh = turns.filter((t) => !t.followUp && !t.seeded);
        const seeded = turns.filter((t) => t.seeded);
        if (seeded.length) results.push({ label: `${name}: seeded (history from elsewhere)`, samplesMs: seeded.map((t) => t.ttfc) });
        const follow = turns.filter((t) => t.followUp);
        const reused = follow.filter((t) => t.isLive).length;
        if (fresh.length) results.push({ label: `${name}: new conversation`, samplesMs: fresh.map((t) => t.ttfc) });
        if (follow.length) results.push({ label: `${name}: follow-up`, samplesMs: follow.map((t) => t.ttfc) });
        const cold = proxy.logEvents('session.spawn').filter((e) => e.warm === '0').length;
        summary.push(`${name}: follow-ups on their live session ${reused}/${follow.length}` +
          ` (${follow.length ? Math.round((100 * reused) / follow.length) : 100}%), cold spawns ${cold}`);
      } finally {
        await proxy.stop();
        proxy.cleanup();
      }
    }
  } finally {
    await up.close();
  }
  for (const line of summary) console.log(`  ${line}`);
  return { name: `trace replay (${CLI_VERSION}, stdio, time to first content per turn)`, results };
}
