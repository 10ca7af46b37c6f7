// What the benches share: a clock, and one streamed /v1/messages request through the proxy.
import http from 'node:http';

export const now = () => Number(process.hrtime.bigint()) / 1e6;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// POST body (with stream: true) to url's /v1/messages. Resolves with { ttfb, total, text } in ms.
export function streamMessages(url, body) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    let ttfb = null;
    let sse = '';
    const req = http.request(new URL('/v1/messages', url), {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'x' },
    }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`proxy answered ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (chunk) => { ttfb ??= now() - t0; sse += chunk; });
      res.on('end', () => {
        const total = now() - t0;
        if (!sse.includes('event: message_stop')) reject(new Error(`incomplete stream: ${sse.slice(-300)}`));
        const text = [...sse.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]))
          .filter((e) => e.type === 'content_block_delta' && e.delta.type === 'text_delta').map((e) => e.delta.text).join('');
        resolve({ ttfb, total, text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ ...body, stream: true }));
  });
}
