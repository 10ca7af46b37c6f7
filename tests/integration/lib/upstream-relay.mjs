// A loopback relay between the CLI and the fake upstream: it records whether each upstream exchange ran to
// its end or was abandoned by the CLI (an interrupted turn), and can add response headers the fake upstream
// does not send (the anthropic-ratelimit-unified-* family a subscription account sees).
import http from 'node:http';

export async function startUpstreamRelay(targetUrl, { headers = {} } = {}) {
  const exchanges = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const ex = { path: req.url, text: raw.toString('utf8'), status: null, finished: false, abandoned: false };
      exchanges.push(ex);
      const fwd = http.request(new URL(req.url, targetUrl), { method: req.method, headers: req.headers }, (up) => {
        ex.status = up.statusCode;
        res.writeHead(up.statusCode, { ...up.headers, ...headers });
        up.pipe(res);
        // The upstream dropped the connection mid-answer: so does the relay (pipe alone would leave it hanging).
        up.on('close', () => { if (!up.complete) res.destroy(); });
      });
      fwd.on('error', () => res.destroy());
      // The CLI closed its side before the whole answer was written: it gave up on this exchange.
      res.on('close', () => {
        ex.finished = res.writableFinished;
        ex.abandoned = !res.writableFinished;
        if (ex.abandoned) fwd.destroy();
      });
      fwd.end(raw);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    exchanges,
    // The exchanges whose request body contains marker (the CLI may also make side requests).
    find: (marker) => exchanges.filter((e) => e.text.includes(marker)),
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}
