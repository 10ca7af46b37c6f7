// A retry after the upstream refused a follow-up turn (a 529, as when the API is overloaded), in the shape
// opencode sends (its recorded system prompt and ten tools from ../shared/traces, OpenAI dialect, stream),
// on the newest CLI (2.1.332) and the fake upstream. The proxy has the CLI take the refused turn back
// (rewind_conversation), so the retry goes to the process that holds the conversation; side by side in the
// same run, the same retry when no process holds the conversation any more (what happened before the
// rewind: the process was discarded, so the retry paid a spawn seeded with the history).
// Time to first content of the retry. Each kept retry must be served by the session that took the turn back.
import fs from 'node:fs';
import path from 'node:path';

import { streamRequest } from './lib/sse.mjs';
import { traceDir } from './lib/traces.mjs';
import { sleep } from './lib/stream.mjs';

const CLI_VERSION = '2.1.332';
const GAP_MS = 2500; // between conversations: the warm pool refills
const KEY = 'sk-test';


// opencode's first request that offers tools: its system prompt and tools, our own user text.
function opencodeShape(sourceDir) {
  const dir = traceDir(sourceDir);
  if (!dir) return null;
  const lines = fs.readFileSync(path.join(dir, 'opencode.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const body = lines.map((r) => (typeof r.body === 'string' ? JSON.parse(r.body) : r.body)).find((b) => b.tools?.length);
  if (!body) throw new Error('no opencode request with tools in the trace');
  return { ...body, stream: true, messages: body.messages.filter((m) => m.role === 'system') };
}

export default async function run({ sourceDir, iterations }) {
  const { startFakeUpstream } = await import(path.join(sourceDir, 'tests/fakes/fake-upstream.mjs'));
  const { startProxy } = await import(path.join(sourceDir, 'tests/integration/lib/proxy.mjs'));
  const claude = path.join(sourceDir, `.deps/claude-${CLI_VERSION}/node_modules/.bin/claude`);
  if (!fs.existsSync(claude)) throw new Error(`${claude} not installed (scripts/install-test-deps.sh)`);
  const shape = opencodeShape(sourceDir);
  if (!shape) return { skipped: '../shared/traces not beside the checkout (set TRACES_DIR)' };
  const up = await startFakeUpstream();
  const kept = [];
  const discarded = [];
  try {
    const proxy = await startProxy({
      config: { claudePath: claude, transport: 'stdio', defaultModel: shape.model, warmSessions: 1, maxSessions: 6 },
      env: { ANTHROPIC_BASE_URL: up.url, ANTHROPIC_API_KEY: KEY },
    });
    const ask = (messages) => streamRequest(proxy.url, '/v1/chat/completions', { ...shape, messages: [...shape.messages, ...messages] });
    try {
      for (let i = 0; i < iterations; i++) {
        await sleep(GAP_MS);
        const u1 = { role: 'user', content: `[[say:first answer ${i}]] what does this repo do?` };
        const first = await ask([u1]);
        const history = [u1, { role: 'assistant', content: first.text }, { role: 'user', content: `[[say:second ${i}]] go on` }];
        const rewound = proxy.logEvents('session.rewound').length;
        up.limit(KEY, 529);
        const refused = await ask(history).then(() => null, (err) => err);
        up.unlimit(KEY);
        if (!refused) throw new Error('the refused turn was answered');
        await proxy.until(() => proxy.logEvents('session.rewound').length > rewound, 30_000);
        kept.push((await ask(history)).ttfc);
        const turn = proxy.logEvents('session.turn').at(-1);
        if (turn.reused !== '1') throw new Error(`retry ${i} was not served by the kept session: ${JSON.stringify(turn)}`);

        // The same retry, had the process been discarded: a conversation no session holds.
        await sleep(GAP_MS);
        discarded.push((await ask([u1, { role: 'assistant', content: `an answer no process holds ${i}` }, history[2]])).ttfc);
      }
    } finally {
      await proxy.stop();
      proxy.cleanup();
    }
  } finally {
    await up.close();
  }
  return {
    name: `a retry after a refused follow-up (opencode's shape, ${CLI_VERSION}, stdio, time to first content, n=${iterations})`,
    results: [
      { label: 'retry, the turn taken back', samplesMs: kept },
      { label: 'retry, process discarded (seeded)', samplesMs: discarded },
    ],
    comparisons: [{ label: 'discarded vs taken back', a: 'retry, process discarded (seeded)', b: 'retry, the turn taken back' }],
  };
}
