// Two oauthToken accounts against the fake upstream, run inside a network namespace of its own (only
// loopback): with an OAuth login the CLI reports the upstream's rate-limit headers as rate_limit_event, and a
// CLI logged in that way must never reach a real host. accounts.test.mjs starts this with `unshare -n` and
// checks the JSON it prints on its last line.
import { startFakeUpstream } from '../../fakes/fake-upstream.mjs';
import { startProxy } from './proxy.mjs';

const TOKENS = { x: 'sk-ant-oat01-test-x', y: 'sk-ant-oat01-test-y' };
const NAME_OF = { [TOKENS.x]: 'x', [TOKENS.y]: 'y' };
const out = { steps: [] };
const up = await startFakeUpstream();
const proxy = await startProxy({
  config: { accountBackoffMs: 500, accounts: [{ name: 'x', oauthToken: TOKENS.x }, { name: 'y', oauthToken: TOKENS.y }] },
  env: { ANTHROPIC_BASE_URL: up.url },
});
const post = async (body) => {
  const res = await fetch(`${proxy.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 100, ...body }) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'),
    unifiedStatus: res.headers.get('anthropic-ratelimit-unified-status'), json: await res.json() };
};
const health = async () => (await fetch(`${proxy.url}/health`)).json();
try {
  const first = await post({ messages: [{ role: 'user', content: '[[say:one]] oauth conversation' }] });
  const home = NAME_OF[up.lastTurn().credential];
  const other = home === 'x' ? 'y' : 'x';
  out.home = home;
  out.first = { status: first.status, sawBearer: /^Bearer /.test(up.lastTurn().headers.authorization || '') };
  // home's plan is used up for an hour; the CLI says so in a rate_limit_event before the error.
  const resetHome = Math.floor(Date.now() / 1000) + 3600;
  up.limit(TOKENS[home], 429, { resetAt: resetHome });
  const from = up.turns().length;
  const moved = await post({ messages: [{ role: 'user', content: '[[say:one]] oauth conversation' },
    { role: 'assistant', content: 'not held' }, { role: 'user', content: '[[say:moved]]' }] });
  out.moved = { status: moved.status, text: moved.json.content?.[0]?.text, unifiedStatus: moved.unifiedStatus,
    by: up.turns().slice(from).map((t) => NAME_OF[t.credential]) };
  out.homeAfter = (await health()).accounts.find((a) => a.name === home);
  out.resetHome = resetHome;
  // The other one too, resetting sooner: every account rests, retry-after is the earlier reset.
  const resetOther = Math.floor(Date.now() / 1000) + 1800;
  up.limit(TOKENS[other], 429, { resetAt: resetOther });
  const all = await post({ messages: [{ role: 'user', content: '[[say:none]] a new oauth conversation' }] });
  out.all = { status: all.status, retryAfter: Number(all.retryAfter), type: all.json.error?.type,
    unifiedStatus: all.unifiedStatus };
  out.resetOther = resetOther;
  out.otherAfter = (await health()).accounts.find((a) => a.name === other);
  out.requestsWithoutToken = up.requests.filter((r) => !NAME_OF[r.credential]).length;
} catch (e) {
  out.error = String(e?.stack || e);
} finally {
  out.stop = await proxy.stop();
  out.sanitizer = proxy.sanitizerReports();
  if (out.error || out.stop.code !== 0) out.logs = proxy.logs().slice(-3000);
  proxy.cleanup();
  await up.close();
}
console.log(JSON.stringify(out));
