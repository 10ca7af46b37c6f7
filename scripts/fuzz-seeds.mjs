// Rebuilds the small seed corpora in tests/fuzz/corpus/ from real client requests (/work/shared/traces or
// TRACES_DIR) plus a few hand-made cases. Run by hand when the traces change; the output is committed.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const traces = process.env.TRACES_DIR || '/work/shared/traces';
const out = path.join(root, 'tests/fuzz/corpus');
const MAX_SEED = 32768; // small seeds: libFuzzer mutates them, it does not need whole conversations
const dialectByte = { '/v1/messages': 0, '/v1/messages/count_tokens': 1, '/v1/chat/completions': 2, '/v1/responses': 3 };

function write(target, name, buf) {
  fs.mkdirSync(path.join(out, target), { recursive: true });
  fs.writeFileSync(path.join(out, target, name), buf);
}

let n = 0;
for (const file of fs.readdirSync(traces).filter((f) => f.endsWith('.jsonl')).sort()) {
  const seen = new Set();
  for (const line of fs.readFileSync(path.join(traces, file), 'utf8').split('\n').filter(Boolean)) {
    const req = JSON.parse(line);
    const body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const d = dialectByte[req.path];
    if (d === undefined || Buffer.byteLength(body) > MAX_SEED || seen.has(req.path)) continue;
    seen.add(req.path);
    const name = `${path.basename(file, '.jsonl')}-${d}`;
    write('fuzz_requests', name, Buffer.concat([Buffer.from([d]), Buffer.from(body)]));
    const head = `${req.method} ${req.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n`;
    write('fuzz_http_server', name, Buffer.from(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`));
    n++;
  }
}
const http = {
  chunked: 'POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  pipelined: 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /l HTTP/1.1\r\nHost: x\r\n\r\nPOST /s HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}',
  continue: 'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc',
  http2: 'GET / HTTP/2.0\r\n\r\n',
};
for (const [k, v] of Object.entries(http)) write('fuzz_http_server', k, Buffer.from(v));
const lines = [
  '{"type":"system","subtype":"init","model":"m"}',
  '{"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_1","role":"assistant","content":[],"usage":{"input_tokens":3}}}}',
  '{"type":"stream_event","event":{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi STOP"}}}',
  '{"type":"stream_event","event":{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"n","input":{}}}}',
  '{"type":"stream_event","event":{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"a\\":[1"}}}',
  '{"type":"stream_event","event":{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}}',
  '{"type":"assistant","message":{"id":"msg_2","content":[{"type":"text","text":"whole"}]}}',
  '{"type":"result","subtype":"success","is_error":true,"result":"API Error: 429 {\\"error\\":{\\"message\\":\\"slow down\\"}}"}',
  '{"type":"control_request","request_id":"r1","request":{"subtype":"can_use_tool","tool_name":"x","input":{}}}',
];
write('fuzz_protocol', 'session', Buffer.concat([Buffer.from([7]), Buffer.from(lines.join('\n') + '\n')]));
// A client's masked text frame carrying one NDJSON line, after an upgrade request.
const upgrade = 'GET /session/abc HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer tok\r\n\r\n';
const payload = Buffer.from(lines[0] + '\n');
const mask = Buffer.from([1, 2, 3, 4]);
const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4])]);
write('fuzz_websocket', 'upgrade-and-frame', Buffer.concat([Buffer.from([5]), Buffer.from(upgrade), frame]));
console.log(`seeds from ${n} trace requests`);
