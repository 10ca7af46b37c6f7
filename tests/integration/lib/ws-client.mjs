// A tiny WebSocket client over net.Socket (no ws package): upgrade request, masked frames out,
// unmasked frames in. Enough to drive the proxy's WebSocket transport like the CLI would, and to
// misbehave on purpose (oversized frames, fragments, pings, dropped sockets).
import net from 'node:net';
import crypto from 'node:crypto';

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 };

export function acceptFor(key) {
  return crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
}

export function encodeFrame({ opcode = OP.TEXT, fin = true, payload = '', mask = true }) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  let head;
  if (data.length < 126) head = Buffer.from([0, data.length]);
  else if (data.length < 65536) {
    head = Buffer.alloc(4);
    head[1] = 126;
    head.writeUInt16BE(data.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(data.length), 2);
  }
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (!mask) return Buffer.concat([head, data]);
  head[1] |= 0x80;
  const key = crypto.randomBytes(4);
  const body = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) body[i] = data[i] ^ key[i & 3];
  return Buffer.concat([head, key, body]);
}

export class WsClient {
  constructor(socket, rest) {
    this.socket = socket;
    this.buf = rest;
    this.frames = [];
    this.waiters = [];
    this.isClosed = false;
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.#parse();
    });
    socket.on('close', () => {
      this.isClosed = true;
      this.#wake();
    });
    socket.on('error', () => {});
    this.#parse();
  }

  #parse() {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      let len = b[1] & 127;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b[1] & 0x80) throw new Error('server frames must not be masked');
      if (b.length < off + len) break;
      this.frames.push({ fin: !!(b[0] & 0x80), opcode: b[0] & 15, payload: Buffer.from(b.subarray(off, off + len)) });
      this.buf = b.subarray(off + len);
    }
    this.#wake();
  }

  #wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  // Next frame, or null once the socket closed with nothing left to read.
  async nextFrame() {
    for (;;) {
      if (this.frames.length) return this.frames.shift();
      if (this.isClosed) return null;
      await new Promise((r) => this.waiters.push(r));
    }
  }

  // Next text frame (pongs and other control frames are skipped unless asked for).
  async nextText() {
    for (;;) {
      const f = await this.nextFrame();
      if (!f) return null;
      if (f.opcode === OP.TEXT) return f.payload.toString();
    }
  }

  // The close frame the server sent, as {code}, then wait for the socket to close.
  async closeFrame() {
    for (;;) {
      const f = await this.nextFrame();
      if (!f) return null;
      if (f.opcode === OP.CLOSE) {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
        await this.closed();
        return { code };
      }
    }
  }

  async closed() {
    while (!this.isClosed) await new Promise((r) => this.waiters.push(r));
  }

  send(frame) {
    this.socket.write(encodeFrame(frame));
  }

  sendText(text) {
    this.send({ opcode: OP.TEXT, payload: text });
  }

  drop() {
    this.socket.destroy();
  }
}

// Upgrade request to ws://127.0.0.1:port/path. Resolves {status, headers, client?} where client is
// a WsClient when the server answered 101 (checked against the accept key), else the socket is left
// to close and `closed` resolves when it has.
// early: bytes sent right behind the request, before the answer (frames a hasty client pipelines).
export function wsConnect(port, path, { token, headers = {}, early } = {}) {
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64');
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let done = false;
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`,
      'Sec-WebSocket-Version: 13',
    ];
    if (token !== undefined) lines.push(`Authorization: Bearer ${token}`);
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    socket.on('connect', () => {
      const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n');
      socket.write(early ? Buffer.concat([head, early]) : head);
    });
    socket.on('error', (e) => {
      if (!done) reject(e);
    });
    const closed = new Promise((r) => socket.on('close', r));
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      done = true;
      socket.off('data', onData);
      const [statusLine, ...rest] = buf.subarray(0, end).toString().split('\r\n');
      const status = Number(statusLine.split(' ')[1]);
      const hdrs = {};
      for (const l of rest) {
        const i = l.indexOf(':');
        hdrs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const after = buf.subarray(end + 4);
      if (status !== 101) {
        resolve({ status, headers: hdrs, body: after.toString(), closed });
        return;
      }
      if (hdrs['sec-websocket-accept'] !== acceptFor(key)) reject(new Error('bad Sec-WebSocket-Accept'));
      resolve({ status, headers: hdrs, client: new WsClient(socket, after), closed });
    };
    socket.on('data', onData);
  });
}
