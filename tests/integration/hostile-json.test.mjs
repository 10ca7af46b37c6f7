// JSON nested ~130k levels deep in every field a request keeps, in both dialects: a 400 naming the field,
// in the caller's dialect, and the proxy keeps serving (it used to overflow its stack copying the request).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startProxy } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));

const T = { timeout: 60_000 };
const LEVELS = 130_000;
// A marker replaced by the deep value after stringify (JSON.stringify itself would recurse).
const DEEP = '"__deep__"';
const deepText = '['.repeat(LEVELS) + ']'.repeat(LEVELS);
const withDeep = (obj) => JSON.stringify(obj).replace(DEEP, deepText);
const deep = JSON.parse(DEEP);

describe('hostile JSON: nesting depth', () => {
  let proxy;
  before(async () => { proxy = await startProxy({ config: { maxBodyBytes: 1 << 20 } }); });
  after(async () => {
    const r = await proxy.stop();
    const reports = proxy.sanitizerReports();
    proxy.cleanup();
    assert.deepEqual(reports, []);
    assert.equal(r.code, 0, `exit ${JSON.stringify(r)}`);
  });

  async function post(p, body) {
    const res = await fetch(`${proxy.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: res.status, json: await res.json() };
  }
  async function stillServes() {
    const h = await fetch(`${proxy.url}/health`);
    assert.equal(h.status, 200);
    await h.arrayBuffer();
  }

  const base = { model: 'claude-sonnet-4-5', max_tokens: 16 };
  const anthropicCases = [
    ['tools[0].input_schema', { ...base, messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 't', input_schema: deep }] }],
    ['messages[0].content[0].input', { ...base, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 'tu_1', name: 't', input: deep }] }, { role: 'user', content: 'hi' }] }],
    ['messages[0].content[0].extra', { ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', extra: deep }] }] }],
    ['metadata', { ...base, messages: [{ role: 'user', content: 'hi' }], metadata: deep }],
  ];
  for (const [field, body] of anthropicCases) {
    for (const p of ['/v1/messages', '/v1/messages/count_tokens']) {
      test(`anthropic_${p}_deep_${field}_is_a_400_naming_it`, T, async () => {
        const r = await post(p, withDeep(body));
        assert.equal(r.status, 400);
        assert.equal(r.json.type, 'error');
        assert.equal(r.json.error.type, 'invalid_request_error');
        assert.ok(r.json.error.message.startsWith(field), r.json.error.message);
        assert.match(r.json.error.message, /nested more than 128 levels/);
        await stillServes();
      });
    }
  }

  const openaiCases = [
    ['tools[0].function.parameters', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 't', parameters: deep } }] }],
    ['messages[0].tool_calls[0].function.arguments', { model: 'claude-sonnet-4-5', messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 't', arguments: '{"a":__deep__}' } }] }, { role: 'tool', tool_call_id: 'c1', content: 'ok' }] }],
    ['metadata', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], metadata: deep }],
  ];
  for (const [field, body] of openaiCases) {
    test(`openai_deep_${field}_is_a_400_naming_it`, T, async () => {
      const text = JSON.stringify(body).replace(DEEP, deepText).replace('__deep__', deepText.replaceAll('"', ''));
      const r = await post('/v1/chat/completions', text);
      assert.equal(r.status, 400);
      assert.equal(r.json.error.type, 'invalid_request_error');
      assert.ok(r.json.error.param.startsWith(field), JSON.stringify(r.json.error));
      assert.match(r.json.error.message, /nested more than 128 levels/);
      await stillServes();
    });
  }

  test('nesting_within_the_bound_is_accepted', T, async () => {
    const schema = JSON.parse('{"type":"object","properties":{"a":'.repeat(40) + '{}' + '}}'.repeat(40));
    const r = await post('/v1/messages/count_tokens', JSON.stringify({ ...base, messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 't', input_schema: schema }] }));
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });
});
