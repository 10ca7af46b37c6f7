// A fake Anthropic Messages API on loopback, for the CLI to talk to in tests.
// What it answers is chosen by directives in the last user message (see tests/fakes/README.md), so the
// answer is deterministic whichever CLI process asks. Every request is recorded for assertions.
import http from 'node:http';

const DEFAULT_TEXT = 'Hello from the fake upstream.';

function textOf(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.filter((b) => b && b.type === 'text').map((b) => b.text).join('\n');
}

function lastUserMessage(body) {
  const msgs = Array.isArray(body?.messages) ? body.messages : [];
  for (let i = msgs.length - 1; i >= 0; i--) if (msgs[i].role === 'user') return msgs[i];
  return null;
}

function parseDirectives(text) {
  const out = [];
  const re = /\[\[(\w+)(?::((?:[^\]]|\](?!\]))*))?\]\]/g;
  let m;
  while ((m = re.exec(text))) out.push({ name: m[1], arg: m[2] ?? '' });
  return out;
}

function stripDirectives(text) {
  return text.replace(/\[\[(\w+)(?::((?:[^\]]|\](?!\]))*))?\]\]/g, '').trim();
}

// Drop the CLI's <system-reminder> blocks so echo shows what the client wrote.
function userWords(text) {
  return text.replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '').trim();
}

function chunk(text, size) {
  const parts = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return parts.length ? parts : [''];
}

// A value that satisfies a (simple) JSON Schema: first enum/const, else a fixed sample per type.
function sampleFor(schema, depth = 0) {
  if (!schema || typeof schema !== 'object' || depth > 8) return null;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'string') return 'sample';
  if (type === 'integer') return 1;
  if (type === 'number') return 1.5;
  if (type === 'boolean') return true;
  if (type === 'null') return null;
  if (type === 'array') return schema.items ? [sampleFor(schema.items, depth + 1)] : [];
  const out = {};
  for (const [key, sub] of Object.entries(schema.properties || {})) out[key] = sampleFor(sub, depth + 1);
  return out;
}

// [[tool:NAME:{json}]] directives → tool_use blocks of the offered tools whose names end with NAME.
// [[tool:NAME {json}]] (the form in ../shared/traces, recorded against another fake) works too.
function toolUseBlocks(directives, body) {
  return directives.map((d) => {
    const colon = d.arg.indexOf(':');
    const space = d.arg.indexOf(' ');
    const i = space >= 0 && (colon < 0 || space < colon) ? space : colon;
    const name = i < 0 ? d.arg : d.arg.slice(0, i);
    const input = i < 0 ? {} : JSON.parse(d.arg.slice(i + 1));
    const offered = (body.tools || []).map((t) => t.name);
    const full = offered.find((n) => n === name || n.endsWith(`__${name}`)) || name;
    return { type: 'tool_use', id: newId('toolu'), name: full, input };
  });
}

let seq = 0;
const newId = (prefix) => `${prefix}_fake${Date.now().toString(36)}${(seq++).toString(36)}`;

// Decide the answer: a list of content blocks plus a stop reason, or an error.
function plan(body) {
  const last = lastUserMessage(body);
  const content = last?.content;
  const toolResults = Array.isArray(content) ? content.filter((b) => b?.type === 'tool_result') : [];
  const text = textOf(content);
  const directives = parseDirectives(text);
  const get = (name) => directives.find((d) => d.name === name);
  const delayMs = Number(get('slow')?.arg || 0);

  // [[error:STATUS(:message)]] answers with that error, marked x-should-retry: false so the CLI gives up at
  // once; with [[retry_after:S]] too, the CLI may retry it (no x-should-retry) and is told to wait S seconds.
  const err = get('error');
  if (err) {
    const [status, ...rest] = err.arg.split(':');
    const retry = get('retry_after');
    return { error: { status: Number(status) || 500, message: rest.join(':') || null,
      retryAfter: retry ? retry.arg : null } };
  }

  const blocks = [];
  if (get('thinking')) blocks.push({ type: 'thinking', thinking: 'Let me think about this.', signature: 'sig_fake_0123456789' });

  if (toolResults.length) {
    const said = toolResults.map((r) => {
      const t = userWords(typeof r.content === 'string' ? r.content : textOf(r.content));
      return (r.is_error ? 'ERROR ' : '') + t;
    });
    // A model that chains calls: [[tool:NAME:{json}]] inside a tool result asks for the next call.
    const chained = parseDirectives(said.join('\n')).filter((d) => d.name === 'tool');
    if (chained.length) return { blocks: [...blocks, ...toolUseBlocks(chained, body)], stop: 'tool_use', delayMs };
    blocks.push({ type: 'text', text: `Tool said: ${said.join(' | ')}` });
    return { blocks, stop: 'end_turn', delayMs };
  }

  // Structured output (`claude --json-schema`): the CLI offers a StructuredOutput tool and ends the turn when
  // the model calls it. Answer like a model that complies, with an object built from the tool's schema.
  const structured = (body.tools || []).find((t) => t.name === 'StructuredOutput');
  if (structured && !directives.some((d) => d.name === 'tool')) {
    blocks.push({ type: 'tool_use', id: newId('toolu'), name: structured.name, input: sampleFor(structured.input_schema) });
    return { blocks, stop: 'tool_use', delayMs };
  }

  const tools = directives.filter((d) => d.name === 'tool');
  if (tools.length) return { blocks: [...blocks, ...toolUseBlocks(tools, body)], stop: 'tool_use', delayMs };

  // [[fail_mid:N]] / [[drop_mid:N]]: N text deltas, then an in-stream `event: error` (what the real API sends
  // when it fails after the stream began) or a dropped connection. The CLI then asks again without
  // streaming: that fails the same way, or with [[fail_mid:N:retry_ok]] gets the whole answer.
  // [[drop_mid:N:held]] keeps the connection open after the N deltas until the test calls dropHeld():
  // a connection that dies as its data arrives may take that data with it (2.1.332 then shows none).
  const failMid = get('fail_mid') || get('drop_mid');
  if (failMid) {
    const [n, how] = failMid.arg.split(':');
    const after = Math.max(1, Number(n) || 3);
    blocks.push({ type: 'text', text: Array.from({ length: after + 20 }, (_, k) => `m${k + 1} `).join('') });
    return { blocks, stop: 'end_turn', delayMs, failAfter: after, failMode: failMid.name === 'drop_mid' ? 'drop' : 'error',
      isRetryOk: how === 'retry_ok', isHeld: how === 'held' };
  }

  let answer = DEFAULT_TEXT;
  const say = get('say');
  const long = get('long');
  if (say) answer = say.arg;
  else if (long) answer = Array.from({ length: Number(long.arg) || 10 }, (_, k) => `w${k + 1}`).join(' ');
  else if (get('echo')) answer = stripDirectives(userWords(text));
  blocks.push({ type: 'text', text: answer });
  return { blocks, stop: 'end_turn', delayMs };
}

const ERROR_TYPES = {
  400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error',
  413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error',
};

function sendError(res, status, message, body, extraHeaders = {}, retryAfter = null) {
  const type = ERROR_TYPES[status] || 'api_error';
  const headers = { 'content-type': 'application/json', 'request-id': newId('req'), ...extraHeaders };
  if (retryAfter === null) headers['x-should-retry'] = 'false';
  if (retryAfter !== null) headers['retry-after'] = retryAfter;
  else if (status === 429) headers['retry-after'] = '7';
  const msg = message || (status === 404 ? `model: ${body?.model}` : `fake upstream ${type}`);
  res.writeHead(status, headers);
  res.end(JSON.stringify({ type: 'error', error: { type, message: msg } }));
}

function usage(outputTokens) {
  return { input_tokens: 11, output_tokens: outputTokens, cache_creation_input_tokens: 2, cache_read_input_tokens: 3 };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Split each block into the deltas a real stream would carry.
function deltasFor(block) {
  if (block.type === 'text') return chunk(block.text, 6).map((t) => ({ type: 'text_delta', text: t }));
  if (block.type === 'thinking') {
    return [
      ...chunk(block.thinking, 8).map((t) => ({ type: 'thinking_delta', thinking: t })),
      { type: 'signature_delta', signature: block.signature },
    ];
  }
  if (block.type === 'tool_use') {
    return chunk(JSON.stringify(block.input), 7).map((p) => ({ type: 'input_json_delta', partial_json: p }));
  }
  return [];
}

function startBlock(block) {
  if (block.type === 'text') return { type: 'text', text: '' };
  if (block.type === 'thinking') return { type: 'thinking', thinking: '', signature: '' };
  return { type: 'tool_use', id: block.id, name: block.name, input: {} };
}

async function stream(res, body, p, isClosed, hold) {
  res.writeHead(200, {
    'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': newId('req'),
    'anthropic-ratelimit-requests-limit': '1000', 'anthropic-ratelimit-requests-remaining': '999',
  });
  const send = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  const id = newId('msg');
  send('message_start', {
    message: { id, type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null,
      stop_sequence: null, usage: usage(1) },
  });
  send('ping', {});
  let count = 0;
  for (let index = 0; index < p.blocks.length; index++) {
    const block = p.blocks[index];
    send('content_block_start', { index, content_block: startBlock(block) });
    for (const delta of deltasFor(block)) {
      if (p.delayMs) await sleep(p.delayMs);
      if (isClosed()) return;
      if (p.failAfter && count === p.failAfter) return failStream(res, send, p.failMode, p.isHeld ? hold : null);
      send('content_block_delta', { index, delta });
      count++;
    }
    send('content_block_stop', { index });
  }
  send('message_delta', { delta: { stop_reason: p.stop, stop_sequence: null }, usage: { output_tokens: count } });
  send('message_stop', {});
  res.end();
}

function failStream(res, send, mode, hold) {
  if (mode === 'drop' && hold) return hold(() => res.destroy());
  // Once what was sent has left, so the client sees the deltas before the connection dies.
  if (mode === 'drop') return res.write('', () => res.destroy());
  send('error', { error: { type: 'overloaded_error', message: 'fake upstream overloaded mid-stream' } });
  res.end();
}

function whole(res, body, p) {
  const count = p.blocks.reduce((n, b) => n + deltasFor(b).length, 0);
  res.writeHead(200, { 'content-type': 'application/json', 'request-id': newId('req') });
  res.end(JSON.stringify({
    id: newId('msg'), type: 'message', role: 'assistant', model: body.model, content: p.blocks,
    stop_reason: p.stop, stop_sequence: null, usage: usage(count),
  }));
}

// Who a request is from: its x-api-key, else its bearer token (an OAuth login).
function credentialOf(headers) {
  if (headers['x-api-key']) return headers['x-api-key'];
  const m = /^Bearer (.+)$/.exec(headers.authorization || '');
  return m ? m[1] : null;
}

export async function startFakeUpstream({ port = 0 } = {}) {
  const requests = [];
  // credential → the error status every request with it gets (limit() / unlimit()).
  const limits = new Map();
  const held = []; // connections [[drop_mid:N:held]] keeps open: each entry drops one
  const hold = (drop) => held.push(drop);
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      let body = null;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null;
      } catch {
        return sendError(res, 400, 'fake upstream: body is not JSON');
      }
      const path = req.url.split('?')[0];
      if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ input_tokens: JSON.stringify(body).length >> 2 }));
      }
      if (req.method !== 'POST' || path !== '/v1/messages') {
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'not found' } }));
      }
      const credential = credentialOf(req.headers);
      requests.push({ path: req.url, headers: req.headers, body, at: Date.now(), credential });
      if (limits.has(credential)) {
        const { status, resetAt } = limits.get(credential);
        // A subscription's limit, as the real API reports it: the CLI turns these into a rate_limit_event.
        const unified = resetAt ? { 'anthropic-ratelimit-unified-status': 'rejected',
          'anthropic-ratelimit-unified-reset': String(resetAt), 'anthropic-ratelimit-unified-representative-claim': 'five_hour' } : {};
        return sendError(res, status, null, body, unified);
      }
      const p = plan(body);
      if (p.error) return sendError(res, p.error.status, p.error.message, body, {}, p.error.retryAfter);
      // The CLI retries a failed stream once without streaming; that attempt fails the same way.
      if (p.failAfter && !body.stream && !p.isRetryOk) {
        return p.failMode === 'drop' ? req.socket.destroy() : sendError(res, 529, 'fake upstream overloaded mid-stream', body);
      }
      let closed = false;
      res.on('close', () => { closed = true; });
      if (body.stream) await stream(res, body, p, () => closed, hold);
      else whole(res, body, p);
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = server.address().port;
  return {
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}`,
    requests,
    // The requests that carried a conversation (the CLI may also make side requests).
    turns: () => requests.filter((r) => Array.isArray(r.body?.messages)),
    lastTurn: () => requests.filter((r) => Array.isArray(r.body?.messages)).at(-1),
    // Answer every request made with this API key (or OAuth token) with status (429: rate limited, with
    // retry-after; 529 overloaded; 401 bad credentials) until unlimit(). resetAt (Unix seconds) adds the
    // subscription headers that say the limit is reached until then.
    limit: (credential, status = 429, { resetAt } = {}) => { limits.set(credential, { status, resetAt }); },
    unlimit: (credential) => { limits.delete(credential); },
    // Drop the connections [[drop_mid:N:held]] kept open; how many there were.
    dropHeld: () => held.splice(0).map((drop) => drop()).length,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

// Standalone: `node tests/fakes/fake-upstream.mjs [port]` prints its URL (handy with `make run`).
if (import.meta.url === `file://${process.argv[1]}`) {
  const up = await startFakeUpstream({ port: Number(process.argv[2] || 0) });
  console.log(up.url);
}
