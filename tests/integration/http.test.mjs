// The HTTP/1.1 server (src/http/*.c) spoken to byte by byte over raw sockets: keep-alive, pipelining, request
// bodies, limits, timeouts, the connection limit, request ids, the access log, and back-pressure on a slow
// reader of a real streamed answer (real CLI against the fake upstream).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const SOURCE_DIR = process.env.SOURCE_DIR || path.resolve(import.meta.dirname, '../..');
const { startProxy } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/proxy.mjs'));
const { startFakeUpstream } = await import(path.join(SOURCE_DIR, 'tests/fakes/fake-upstream.mjs'));
const { RawConnection, rawRequest } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/raw-http.mjs'));
const { startUpstreamRelay } = await import(path.join(SOURCE_DIR, 'tests/integration/lib/upstream-relay.mjs'));

const T = { timeout: 60_000 };
const REQUEST_ID = /^req_[0-9a-f]{24}$/;
const MAX_BODY = 4096;

const get = (p, extra = '') => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
function post(p, body, extra = '') {
  return `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}
function chunked(pieces) {
  return pieces.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('') + '0\r\n\r\n';
}
const countBody = JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'count these words please' }] });

async function stopAndCheck(proxy) {
  const r = await proxy.stop();
  const reports = proxy.sanitizerReports();
  proxy.cleanup();
  assert.deepEqual(reports, []);
  assert.equal(r.code, 0, `exit ${JSON.stringify(r)}`);
}

describe('http: one connection, many requests', () => {
  let proxy;
  let models;
  before(async () => {
    proxy = await startProxy({ config: { maxBodyBytes: MAX_BODY } });
    const { conn, res } = await rawRequest(proxy.port, get('/v1/models'));
    conn.destroy();
    models = res.json().data.map((m) => m.id);
    assert.ok(models.length >= 2);
  });
  after(async () => stopAndCheck(proxy));

  test('keep_alive_serves_two_requests_on_one_socket', T, async () => {
    const c = await RawConnection.open(proxy.port);
    c.write(get('/health'));
    const a = await c.response();
    c.write(get(`/v1/models/${models[0]}`));
    const b = await c.response();
    assert.equal(a.status, 200);
    assert.equal(a.json().status, 'ok');
    assert.equal(a.headers.connection, undefined);
    assert.equal(b.status, 200);
    assert.equal(b.json().id, models[0]);
    assert.equal(c.isEnded, false);
    c.destroy();
  });

  test('pipelined_requests_are_answered_in_order', T, async () => {
    const c = await RawConnection.open(proxy.port);
    // One write: a GET, a POST with a body, a GET, a 404 — the answers must come back in that order.
    c.write(get(`/v1/models/${models[1]}`) + post('/v1/messages/count_tokens', countBody) +
      get(`/v1/models/${models[0]}`) + get('/no/such/route'));
    const rs = [await c.response(), await c.response(), await c.response(), await c.response()];
    assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 404]);
    assert.equal(rs[0].json().id, models[1]);
    assert.ok(rs[1].json().input_tokens > 0);
    assert.equal(rs[2].json().id, models[0]);
    const ids = rs.map((r) => r.headers['request-id']);
    assert.equal(new Set(ids).size, 4);
    c.destroy();
  });

  test('http_2_and_version_less_request_lines_are_refused', T, async () => {
    for (const [line, status] of [['GET /health HTTP/2.0', 505], ['GET /v1/models', 400], ['GET /v1/models HTTP/0.9', 400]]) {
      const { conn, res } = await rawRequest(proxy.port, `${line}\r\nHost: 127.0.0.1\r\n\r\n`);
      assert.equal(res.status, status, line);
      assert.equal(res.headers.connection, 'close');
      conn.destroy();
    }
  });

  test('chunked_request_body_is_reassembled', T, async () => {
    const whole = await rawRequest(proxy.port, post('/v1/messages/count_tokens', countBody));
    whole.conn.destroy();
    const c = await RawConnection.open(proxy.port);
    c.write('POST /v1/messages/count_tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n');
    // Chunks in separate writes, one split inside its size line.
    const body = chunked([countBody.slice(0, 7), countBody.slice(7, 30), countBody.slice(30)]);
    c.write(body.slice(0, 3));
    c.write(body.slice(3, 40));
    c.write(body.slice(40));
    const res = await c.response();
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json(), whole.res.json());
    c.destroy();
  });

  test('chunked_request_trailers_are_dropped_and_the_request_is_still_served', T, async () => {
    const whole = await rawRequest(proxy.port, post('/v1/messages/count_tokens', countBody));
    whole.conn.destroy();
    const c = await RawConnection.open(proxy.port);
    // Trailers bigger than the head: kept, they would have moved the path the route is matched on.
    c.write('POST /v1/messages/count_tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n' + chunked([countBody]).slice(0, -2) +
      `X-Pad: ${'p'.repeat(3000)}\r\nX-Api-Key: from-a-trailer\r\n\r\n`);
    const res = await c.response();
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json(), whole.res.json());
    c.write(get(`/v1/models/${models[0]}`)); // the connection goes on
    assert.equal((await c.response()).status, 200);
    c.destroy();
  });

  test('trailers_over_the_head_limit_get_431_in_the_route_dialect', T, async () => {
    const c = await RawConnection.open(proxy.port);
    c.write('POST /v1/messages/count_tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n' + chunked([countBody]).slice(0, -2));
    for (let i = 0; i < 40; i++) c.write(`X-Pad-${i}: ${'p'.repeat(2000)}\r\n`);
    const res = await c.response();
    assert.equal(res.status, 431);
    assert.equal(res.json().type, 'error');
    await c.closed;
  });

  test('an_error_naming_bytes_that_are_not_utf8_is_still_json', T, async () => {
    // %ff decodes to a byte no UTF-8 text has; the 404 quotes it back.
    const { conn, res } = await rawRequest(proxy.port, get('/v1/models/x%ffy%c3'));
    conn.destroy();
    assert.equal(res.status, 404, res.text);
    assert.match(res.json().error.message, /x\?y\?/);
  });

  test('body_over_the_limit_gets_413_from_content_length_before_the_body', T, async () => {
    const c = await RawConnection.open(proxy.port);
    // Only the head: the answer must not wait for a body it is going to refuse.
    c.write(`POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`);
    const res = await c.response();
    assert.equal(res.status, 413);
    assert.equal(res.headers.connection, 'close');
    assert.match(res.headers['request-id'], REQUEST_ID);
    assert.equal(res.json().type, 'error'); // the Anthropic dialect under /v1/messages
    await c.closed;
  });

  test('chunked_body_over_the_limit_gets_413_in_the_route_dialect', T, async () => {
    const c = await RawConnection.open(proxy.port);
    c.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n');
    c.write(chunked(['x'.repeat(MAX_BODY / 2), 'y'.repeat(MAX_BODY / 2), 'z']));
    const res = await c.response();
    assert.equal(res.status, 413);
    assert.ok(res.json().error.message); // OpenAI's {"error":{...}}
    assert.equal(res.json().type, undefined);
    await c.closed;
  });

  test('bad_chunked_encoding_is_a_400_in_the_route_dialect', T, async () => {
    const c = await RawConnection.open(proxy.port);
    c.write('POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    const res = await c.response();
    assert.equal(res.status, 400);
    assert.equal(res.json().type, 'error');
    assert.equal(res.json().error.type, 'invalid_request_error');
    await c.closed;
  });

  test('malformed_request_head_gets_a_plain_400_and_close', T, async () => {
    const c = await RawConnection.open(proxy.port);
    c.write('THIS IS NOT HTTP\r\n\r\n');
    const res = await c.response();
    assert.equal(res.status, 400);
    assert.equal(res.headers.connection, 'close');
    assert.match(res.headers['request-id'], REQUEST_ID);
    await c.closed;
  });

  test('request_id_is_ours_on_every_response_even_when_the_client_sends_one', T, async () => {
    const c = await RawConnection.open(proxy.port);
    c.write(get('/health', 'request-id: req_client_chosen\r\n') + get('/nope') + get('/health'));
    const rs = [await c.response(), await c.response(), await c.response()];
    for (const r of rs) {
      assert.match(r.headers['request-id'], REQUEST_ID);
      assert.equal(r.rawHeaders.filter(([n]) => n === 'request-id').length, 1);
    }
    assert.notEqual(rs[0].headers['request-id'], 'req_client_chosen');
    assert.equal(new Set(rs.map((r) => r.headers['request-id'])).size, 3);
    c.destroy();
  });

  test('access_log_has_one_line_per_request', T, async () => {
    const { conn, res } = await rawRequest(proxy.port, get('/v1/models?limit=1'));
    conn.destroy();
    const id = res.headers['request-id'];
    await proxy.until(() => proxy.logEvents('http.request').some((e) => e.request_id === id));
    const lines = proxy.logEvents('http.request').filter((e) => e.request_id === id);
    assert.equal(lines.length, 1);
    const e = lines[0];
    assert.equal(e.method, 'GET');
    assert.equal(e.path, '/v1/models'); // no query string: it may carry secrets
    assert.equal(e.status, '200');
    assert.equal(Number(e.bytes), res.body.length);
    assert.ok(Number(e.ms) >= 0);
    assert.equal(e.aborted, '0');
  });

  test('head_request_gets_the_length_but_no_body', T, async () => {
    const c = await RawConnection.open(proxy.port);
    c.write(`HEAD /v1/models/${models[0]} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n` + get('/health'));
    const head = await c.response({ head: true });
    const next = await c.response();
    assert.equal(head.status, 200);
    assert.ok(Number(head.headers['content-length']) > 0);
    assert.equal(head.body.length, 0);
    assert.equal(next.json().status, 'ok'); // the HEAD answer carried no stray body bytes
    c.destroy();
  });

  test('http_1_0_and_connection_close_end_the_connection_after_the_answer', T, async () => {
    const old = await RawConnection.open(proxy.port);
    old.write('GET /health HTTP/1.0\r\n\r\n');
    const a = await old.response();
    assert.equal(a.version, '1.0');
    assert.equal(a.status, 200);
    assert.equal(a.headers.connection, 'close');
    await old.closed;

    const keep = await RawConnection.open(proxy.port);
    keep.write('GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const b = await keep.response();
    assert.equal(b.headers.connection, 'keep-alive');
    keep.write(get('/health', 'Connection: close\r\n') + get('/health'));
    const c = await keep.response();
    assert.equal(c.headers.connection, 'close');
    await keep.closed;
    assert.equal(keep.leftover.length, 0); // the request after "close" got no answer
  });

  test('a_client_reset_before_100_continue_leaves_nothing_dispatched', T, async () => {
    // Head and body in one write, then a reset: the interim answer's write fails inside the parser, and the
    // request completed by the same bytes must not reach a handler on the closing connection.
    for (let i = 0; i < 20; i++) {
      const s = net.connect(proxy.port, '127.0.0.1');
      await new Promise((resolve, reject) => { s.once('connect', resolve); s.once('error', reject); });
      s.write(`POST /v1/messages/count_tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Expect: 100-continue\r\nContent-Length: ${Buffer.byteLength(countBody)}\r\n\r\n${countBody}`, () => s.resetAndDestroy());
      await new Promise((resolve) => s.once('close', resolve));
    }
    const { conn, res } = await rawRequest(proxy.port, get('/health'));
    conn.destroy();
    assert.equal(res.status, 200);
  });

  test('expect_100_continue_gets_the_interim_answer_first', T, async () => {
    const c = await RawConnection.open(proxy.port);
    c.write(`POST /v1/messages/count_tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Expect: 100-continue\r\nContent-Length: ${Buffer.byteLength(countBody)}\r\n\r\n`);
    const interim = await c.response();
    assert.equal(interim.status, 100);
    c.write(countBody);
    const res = await c.response();
    assert.equal(res.status, 200);
    assert.ok(res.json().input_tokens > 0);
    c.destroy();
  });
});

describe('http: timeouts', () => {
  let proxy;
  before(async () => {
    proxy = await startProxy({ config: { headerTimeoutMs: 300, idleTimeoutMs: 300, bodyTimeoutMs: 1000 } });
  });
  after(async () => stopAndCheck(proxy));

  test('slow_request_head_gets_408_and_the_connection_closes', T, async () => {
    const c = await RawConnection.open(proxy.port);
    c.write('GET /health HTTP/1.1\r\nHost: te'); // and nothing more
    const res = await c.response();
    assert.equal(res.status, 408);
    await c.closed;
  });

  test('silent_connection_is_closed_without_an_answer', T, async () => {
    const c = await RawConnection.open(proxy.port);
    await c.closed;
    assert.equal(c.received, 0);
  });

  test('slow_request_body_gets_408_in_the_route_dialect', T, async () => {
    const c = await RawConnection.open(proxy.port);
    c.write('POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"mo');
    const res = await c.response();
    assert.equal(res.status, 408);
    assert.equal(res.json().type, 'error');
    await c.closed;
  });

  test('a_body_trickling_in_still_gets_408_at_the_body_deadline', T, async () => {
    // A byte every 100 ms is never silence (headerTimeoutMs is 300), yet the whole body is late.
    const c = await RawConnection.open(proxy.port);
    c.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
    const drip = setInterval(() => c.write(' '), 100);
    try {
      const res = await c.response();
      assert.equal(res.status, 408);
      assert.ok(res.json().error, 'OpenAI shape');
    } finally {
      clearInterval(drip);
    }
    await c.closed;
  });

  test('idle_keep_alive_connection_is_closed', T, async () => {
    const c = await RawConnection.open(proxy.port);
    c.write(get('/health'));
    const res = await c.response();
    assert.equal(res.status, 200);
    await c.closed;
    assert.equal(c.leftover.length, 0);
  });
});

describe('http: connection limit', () => {
  let proxy;
  const MAX = 3;
  before(async () => {
    proxy = await startProxy({ config: { maxConnections: MAX } });
  });
  after(async () => stopAndCheck(proxy));

  test('connections_over_the_limit_get_503_and_a_slot_frees_when_one_closes', T, async () => {
    // The start-up health check may still hold a keep-alive slot, so count what gets in.
    const admitted = [];
    let refused = null;
    for (let i = 0; i < MAX + 2 && !refused; i++) {
      const { conn, res } = await rawRequest(proxy.port, get('/health'));
      if (res.status === 200) {
        admitted.push(conn);
      } else {
        refused = { conn, res };
      }
    }
    assert.ok(refused, 'no connection was refused');
    assert.ok(admitted.length <= MAX && admitted.length >= MAX - 1, `admitted ${admitted.length}`);
    assert.equal(refused.res.status, 503);
    assert.equal(refused.res.headers.connection, 'close');
    assert.match(refused.res.headers['request-id'], REQUEST_ID);
    await refused.conn.closed;

    admitted.pop().destroy();
    await proxy.until(async () => {
      const { conn, res } = await rawRequest(proxy.port, get('/health'));
      conn.destroy();
      return res.status === 200;
    });
    for (const c of admitted) c.destroy();
  });
});

describe('http: per-client connection cap', () => {
  let proxy;
  before(async () => {
    proxy = await startProxy({ config: { maxConnections: 8, maxConnectionsPerClient: 2, headerTimeoutMs: 60000 } });
  });
  after(async () => stopAndCheck(proxy));

  function openFrom(localAddress) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port: proxy.port, host: '127.0.0.1', localAddress });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  }

  test('one_peer_cannot_hold_every_slot', T, async () => {
    // Two silent connections from 127.0.0.2 (a slow-body client) use up its share...
    const held = [await openFrom('127.0.0.2'), await openFrom('127.0.0.2')];
    await proxy.until(async () => {
      const s = await openFrom('127.0.0.2');
      const answer = await new Promise((resolve) => {
        let data = '';
        s.on('data', (d) => { data += d; });
        s.on('close', () => resolve(data));
      });
      return answer.startsWith('HTTP/1.1 503');
    });
    // ...while another address is still served.
    const c = new RawConnection(proxy.port);
    await c.connected;
    c.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal((await c.response()).status, 200);
    c.destroy();
    for (const s of held) s.destroy();
  });
});

// /proc/<pid>/status VmRSS in bytes (Linux).
function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

describe('http: back-pressure', () => {
  let up;
  let relay;
  let proxy;
  before(async () => {
    up = await startFakeUpstream();
    relay = await startUpstreamRelay(up.url);
    proxy = await startProxy({
      config: { logLevel: 'debug' },
      env: { ANTHROPIC_BASE_URL: relay.url, ANTHROPIC_API_KEY: 'sk-test' },
    });
  });
  after(async () => {
    await stopAndCheck(proxy);
    await relay.close();
    await up.close();
  });

  test('slow_reader_of_a_stream_pauses_the_producer_and_loses_nothing', { timeout: 300_000 }, async () => {
    // ~4 MB of SSE. Loopback socket buffers absorb megabytes, so this is the whole path working under
    // back-pressure; tests/unit/test_http_server.c pins the mechanism itself (congestion, drain, write limit).
    const WORDS = Number(process.env.HTTP_TEST_WORDS || 30000);
    const marker = `backpressure-${process.pid}`;
    const body = JSON.stringify({
      model: 'claude-sonnet-4-5', max_tokens: 1_000_000, stream: true,
      messages: [{ role: 'user', content: `${marker} [[long:${WORDS}]]` }],
    });
    const c = await RawConnection.open(proxy.port);
    const rssBefore = rssOf(proxy.proc.pid);
    c.write(post('/v1/messages', body, 'x-api-key: x\r\n'));
    // Take the first bytes, then stop reading: the socket buffers fill and the proxy must hold back.
    await new Promise((resolve) => {
      const onData = () => { c.sock.pause(); c.sock.off('data', onData); resolve(); };
      c.sock.on('data', onData);
    });
    await proxy.until(() => proxy.logEvents('http.congested').length > 0, 240_000);
    // The CLI has had the whole answer from upstream: without back-pressure it would all be queued in the proxy.
    await proxy.until(() => relay.find(marker).some((e) => e.finished), 240_000);
    const rssStalled = rssOf(proxy.proc.pid);
    c.sock.resume();
    const res = await c.response();
    assert.equal(res.status, 200);
    const text = res.text.split('\n').filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6))).filter((e) => e.type === 'content_block_delta')
      .map((e) => e.delta.text).join('');
    const expected = Array.from({ length: WORDS }, (_, k) => `w${k + 1}`).join(' ');
    assert.equal(text.length, expected.length);
    assert.ok(text === expected, 'the streamed text differs from what upstream sent');
    const id = res.headers['request-id'];
    await proxy.until(() => proxy.logEvents('http.request').some((e) => e.request_id === id));
    const line = proxy.logEvents('http.request').find((e) => e.request_id === id);
    const peak = Number(line.peak_queued);
    console.log(`stream ${res.body.length} bytes; peak queued in the proxy ${peak} bytes; ` +
      `RSS ${((rssStalled - rssBefore) / 1048576).toFixed(1)} MiB above the start while the client stalled`);
    // The high-water mark (64 KiB) plus what one read of the CLI can bring, not megabytes.
    assert.ok(peak > 0 && peak < 512 * 1024, `peak queued ${peak}`);
    assert.ok(proxy.logEvents('http.drained').length > 0);
    c.destroy();
  });
});
