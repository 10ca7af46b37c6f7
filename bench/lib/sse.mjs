// One streamed request in either dialect, timed: first byte, first content (a text or tool-call delta),
// the whole answer; with the text and the tool-call ids the client got, and the proxy's request id.
import http from 'node:http';

import { now } from './stream.mjs';

// The first text or tool call, in either dialect (message_start's empty content does not count).
const FIRST_CONTENT = /"type":"text_delta"|"type":"tool_use"|"content":"[^"]|"tool_calls":\[/;
const DROP = new Set(['content-length', 'connection', 'accept-encoding', 'host', 'transfer-encoding']);

export function streamRequest(url, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    let ttfb = null;
    let ttfc = null;
    let sse = '';
    const hs = { 'content-type': 'application/json', 'x-api-key': 'x' };
    for (const [k, v] of Object.entries(headers)) if (!DROP.has(k.toLowerCase())) hs[k] = v;
    const req = http.request(new URL(path, url), { method: 'POST', headers: hs }, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => reject(new Error(`${path} answered ${res.statusCode}: ${text.slice(0, 300)}`)));
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        ttfb ??= now() - t0;
        sse += chunk;
        if (ttfc === null && FIRST_CONTENT.test(sse)) ttfc = now() - t0;
      });
      res.on('end', () => {
        const total = now() - t0;
        const events = [...sse.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).filter((d) => d !== '[DONE]').map((d) => JSON.parse(d));
        let text = '';
        const toolIds = [];
        for (const e of events) {
          if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text;
          if (e.type === 'content_block_start' && e.content_block.type === 'tool_use') toolIds.push(e.content_block.id);
          const d = e.choices?.[0]?.delta;
          if (d?.content) text += d.content;
          for (const c of d?.tool_calls ?? []) if (c.id) toolIds.push(c.id);
        }
        resolve({ ttfb, ttfc: ttfc ?? total, total, text, toolIds, requestId: res.headers['request-id'] });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ ...body, stream: true }));
  });
}
