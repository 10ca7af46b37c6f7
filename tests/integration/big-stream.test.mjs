// One 60 MB text delta on a streamed answer (the fake CLI's [[big:N]]): it reaches the client whole, as
// many bounded SSE events (one 60 MB event would pass the HTTP server's 8 MB write limit and the client would
// be dropped), the proxy stays up, and (release build) its memory comes back: the text is streamed through,
// not kept for the final message. A Responses stream (whose *.done events repeat the whole text) completes too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startProxy, stopChecked } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));
const { fakeCli, hasSanitizer, rssKb } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/fake-cli.mjs'));

const MODEL = 'claude-fake-1';
const BIG = 60_000_000;
const MAX_EVENT = 2 * 1024 * 1024; // a 1 MiB piece and its framing

// The SSE stream as events, each { event, data (parsed), bytes }; the text of every text delta joined.
async function readStream(res, textOf) {
  const decoder = new TextDecoder();
  let pending = '';
  let text = '';
  let events = 0;
  let largest = 0;
  let largestDelta = 0;
  const types = [];
  for await (const chunk of res.body) {
    pending += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const frame = pending.slice(0, end);
      pending = pending.slice(end + 2);
      largest = Math.max(largest, frame.length);
      const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (!data) continue;
      events++;
      if (data === '[DONE]') {
        types.push('[DONE]');
        continue;
      }
      const parsed = JSON.parse(data);
      types.push(parsed.type ?? parsed.object);
      const piece = textOf(parsed) ?? '';
      if (piece) largestDelta = Math.max(largestDelta, frame.length);
      text += piece;
    }
  }
  return { text, events, largest, largestDelta, types };
}

describe('a 60 MB streamed delta', () => {
  let proxy;
  let cliDir;
  let rssBefore;
  before(async () => {
    cliDir = fs.mkdtempSync(path.join(os.tmpdir(), 'big-stream-cli-'));
    const cli = fakeCli(cliDir, {});
    proxy = await startProxy({ config: { claudePath: cli.path, defaultModel: MODEL, warmSessions: 0,
      transport: 'stdio', pingIntervalMs: 0 } });
    rssBefore = rssKb(proxy.proc.pid);
  });
  after(async () => {
    try {
      await stopChecked(proxy);
    } finally {
      fs.rmSync(cliDir, { recursive: true, force: true });
    }
  });

  async function post(p, body) {
    const res = await fetch(`${proxy.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, stream: true, ...body }) });
    assert.equal(res.status, 200);
    return res;
  }

  async function assertWhole(got, p) {
    assert.equal(got.text.length, BIG);
    assert.ok(/^x+$/.test(got.text), 'every byte is the fake CLI\'s');
    assert.ok(got.largest <= MAX_EVENT, `largest SSE event ${got.largest} bytes`);
    // Paced: the next piece waits for the socket to take the last, so at most about one is ever queued.
    const servedOf = () => proxy.logEvents('http.request').find((e) => e.path === p);
    await proxy.until(servedOf); // the access log line comes over another pipe than the answer
    const served = servedOf();
    assert.ok(Number(served.peak_queued) <= MAX_EVENT, `peak queued ${served.peak_queued} bytes`);
  }

  test('messages_stream_carries_it_whole_in_bounded_events', { timeout: 300_000 }, async () => {
    const res = await post('/v1/messages', { max_tokens: 100_000_000,
      messages: [{ role: 'user', content: `[[big:${BIG}]]` }] });
    const got = await readStream(res, (e) => (e.type === 'content_block_delta' ? e.delta.text : ''));
    await assertWhole(got, '/v1/messages');
    assert.ok(got.events >= 60, `${got.events} events`);
    assert.deepEqual(got.types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
  });

  // With stop_sequences the text is held back (a sequence could start at its end): the held text goes out in
  // pieces as well, and what stays held comes at the block's end.
  test('messages_stream_with_stop_sequences_carries_it_whole', { timeout: 300_000 }, async () => {
    const size = 20_000_000;
    const res = await post('/v1/messages', { max_tokens: 100_000_000, stop_sequences: ['NEVER SAID'],
      messages: [{ role: 'user', content: `[[big:${size}]]` }] });
    const got = await readStream(res, (e) => (e.type === 'content_block_delta' ? e.delta.text : ''));
    assert.equal(got.text.length, size);
    assert.ok(/^x+$/.test(got.text));
    assert.ok(got.largest <= MAX_EVENT, `largest SSE event ${got.largest} bytes`);
    assert.deepEqual(got.types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
  });

  test('chat_completions_stream_carries_it_whole_in_bounded_chunks', { timeout: 300_000 }, async () => {
    const res = await post('/v1/chat/completions', { max_completion_tokens: 100_000_000,
      messages: [{ role: 'user', content: `[[big:${BIG}]]` }] });
    const got = await readStream(res, (e) => e.choices?.[0]?.delta?.content);
    await assertWhole(got, '/v1/chat/completions');
    assert.equal(got.types.at(-1), '[DONE]');
  });

  test('the_proxy_still_answers_and_gives_the_memory_back', { timeout: 60_000 }, async (t) => {
    const res = await fetch(`${proxy.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: '[[say:still here]]' }] }) });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).content[0].text, 'still here');
    // ASan's allocator keeps freed memory in quarantine, so RSS says nothing there: release builds only.
    if (hasSanitizer(proxy.proc.pid)) return t.skip('RSS is meaningless under ASan (quarantine)');
    const status = fs.readFileSync(`/proc/${proxy.proc.pid}/status`, 'utf8');
    const peakMb = Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
    const grownMb = (rssKb(proxy.proc.pid) - rssBefore) / 1024;
    console.log(`# streamed answers of 60, 20 and 60 MB: RSS ${(rssBefore / 1024).toFixed(0)} MB before, ` +
      `+${grownMb.toFixed(0)} MB after, peak ${peakMb.toFixed(0)} MB`);
    assert.ok(grownMb < 25, `proxy RSS grew ${grownMb.toFixed(0)} MB over three long streamed answers`);
    // The CLI's line and its parsed form (~120 MB) are all that one such answer costs at its peak; keeping
    // the text for the final message cost twice that again.
    assert.ok(peakMb < 200, `proxy peak RSS ${peakMb.toFixed(0)} MB`);
  });

  // Responses repeats an item's whole text in its *.done events and response.completed: those go out whole
  // (a 20 MB answer makes ~80 MB of them), the deltas in bounded pieces as elsewhere. Last: its memory peak
  // is the protocol's, not the proxy's to bound.
  test('responses_stream_carries_it_whole_and_completes', { timeout: 300_000 }, async () => {
    const size = 20_000_000;
    const res = await post('/v1/responses', { max_output_tokens: 100_000_000, input: `[[big:${size}]]`, store: false });
    const got = await readStream(res, (e) => (e.type === 'response.output_text.delta' ? e.delta : ''));
    assert.equal(got.text.length, size);
    assert.ok(/^x+$/.test(got.text));
    assert.ok(got.largestDelta <= MAX_EVENT, `largest delta event ${got.largestDelta} bytes`);
    assert.equal(got.types.at(-1), 'response.completed');
  });

  // The client leaves while most of the delta still waits in the proxy (it got 2 MB of 60): the held rest is
  // dropped, the turn interrupted, and the proxy goes on serving (ASan: nothing leaks or is used after free).
  test('a_client_leaving_mid_delta_ends_the_turn_cleanly', { timeout: 300_000 }, async () => {
    const cancels = proxy.logEvents('session.turn_cancel').length;
    const ac = new AbortController();
    const res = await fetch(`${proxy.url}/v1/messages`, { method: 'POST', signal: ac.signal,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, stream: true, max_tokens: 100_000_000,
        messages: [{ role: 'user', content: `[[big:${BIG}]]` }] }) });
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    let got = 0;
    while (got < 2_000_000) {
      const { done, value } = await reader.read();
      assert.ok(!done, 'the stream went on');
      got += value.length;
    }
    ac.abort();
    await reader.closed.catch(() => {});
    await proxy.until(() => proxy.logEvents('session.turn_cancel').length > cancels);
    const after = await fetch(`${proxy.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: '[[say:after]]' }] }) });
    assert.equal(after.status, 200);
    assert.equal((await after.json()).content[0].text, 'after');
  });
});
