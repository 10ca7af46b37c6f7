// A raw HTTP/1.1 client on node:net: exact bytes out, responses parsed one by one in arrival order, and the
// connection's close visible. For what fetch and http.request hide (pipelining, half-sent heads, timeouts).
import net from 'node:net';

// One response from the front of buf, or null if it is not complete yet.
// opts.head: the request was HEAD (no body whatever the headers say).
export function parseResponse(buf, isEnded, opts = {}) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.(\d) (\d{3}) ?(.*)$/.exec(lines[0]);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
  const headers = {};
  const rawHeaders = [];
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    const name = l.slice(0, i).trim().toLowerCase();
    const value = l.slice(i + 1).trim();
    rawHeaders.push([name, value]);
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const res = { version: `1.${m[1]}`, status: Number(m[2]), reason: m[3], headers, rawHeaders };
  let at = end + 4;
  const noBody = opts.head || res.status < 200 || res.status === 204 || res.status === 304;
  if (noBody) {
    res.body = Buffer.alloc(0);
  } else if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    const parts = [];
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) return null;
      const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      if (size === 0) {
        if (buf.length < eol + 4) return null; // no trailers expected: "0\r\n\r\n"
        at = eol + 4;
        break;
      }
      if (buf.length < eol + 2 + size + 2) return null;
      parts.push(buf.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    res.body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const len = Number(headers['content-length']);
    if (buf.length < at + len) return null;
    res.body = buf.subarray(at, at + len);
    at += len;
  } else {
    if (!isEnded) return null;
    res.body = buf.subarray(at);
    at = buf.length;
  }
  res.text = res.body.toString('utf8');
  res.json = () => JSON.parse(res.text);
  return { res, used: at };
}

export class RawConnection {
  static async open(port) {
    const c = new RawConnection(port);
    await c.connected;
    return c;
  }

  constructor(port) {
    this.buf = Buffer.alloc(0);
    this.isEnded = false;
    this.error = null;
    this.waiters = [];
    this.received = 0;
    this.sock = net.connect(port, '127.0.0.1');
    this.connected = new Promise((resolve, reject) => {
      this.sock.once('connect', resolve);
      this.sock.once('error', reject);
    });
    this.sock.on('error', (e) => { this.error = e; });
    this.sock.on('data', (d) => {
      this.received += d.length;
      this.buf = Buffer.concat([this.buf, d]);
      this.#pump();
    });
    // 'close' rather than 'end': the proxy may reset a connection it gave up on.
    this.closed = new Promise((resolve) => this.sock.on('close', () => {
      this.isEnded = true;
      this.#pump();
      resolve();
    }));
  }

  write(data) { this.sock.write(data); }
  destroy() { this.sock.destroy(); }

  // The next response, in order. Rejects if the connection closes first.
  response(opts = {}) {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject, opts });
      this.#pump();
    });
  }

  // Bytes that arrived after the last parsed response.
  get leftover() { return this.buf; }

  #pump() {
    while (this.waiters.length) {
      const w = this.waiters[0];
      let r;
      try {
        r = parseResponse(this.buf, this.isEnded, w.opts);
      } catch (e) {
        this.waiters.shift().reject(e);
        continue;
      }
      if (!r) {
        if (!this.isEnded) return;
        this.waiters.shift().reject(new Error(`connection closed before a whole response (${this.buf.length} bytes: ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))})`));
        continue;
      }
      this.buf = this.buf.subarray(r.used);
      this.waiters.shift().resolve(r.res);
    }
  }
}

// One request on a fresh connection; resolves with the response, the connection left open.
export async function rawRequest(port, data, opts) {
  const c = await RawConnection.open(port);
  c.write(data);
  const res = await c.response(opts);
  return { conn: c, res };
}
