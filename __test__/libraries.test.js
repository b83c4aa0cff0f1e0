'use strict';
// Libraries built on net keep working over this module's sockets: http (client agent with our
// createConnection, server fed with our connections) and tls (over our socket), compared with
// the same scenario on node:net.

const { test } = require('node:test');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const tls = require('node:tls');
const { compare } = require('./helpers/compare');

const key = fs.readFileSync(path.join(__dirname, 'fixtures', 'key.pem'));
const cert = fs.readFileSync(path.join(__dirname, 'fixtures', 'cert.pem'));

test('http: keep-alive agent over our createConnection, server fed by our server', async () => {
  await compare(async (net, t) => {
    const httpServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => res.end(`echo:${body}:${req.url}`));
    });
    const server = net.createServer((sock) => httpServer.emit('connection', sock));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const port = server.address().port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agent.createConnection = net.createConnection;
    const sockets = new Set();
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve, reject) => {
        const req = http.request({ port, host: '127.0.0.1', path: `/r${i}`, method: 'POST', agent }, (res) => {
          sockets.add(res.socket);
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => {
            t.push(res.statusCode, body, res.headers['content-length']);
            resolve();
          });
        });
        req.on('error', reject);
        req.end(`body${i}`);
      });
    }
    t.push('one socket reused', sockets.size);
    agent.destroy();
    httpServer.close();
    await new Promise((r) => server.close(r));
  });
});

// http's server pauses a socket while it answers a request, and pauses and resumes it through
// the handle (readStop/readStart): pipelined requests with large bodies must all be answered.
test('http: pipelined requests with 300 KB bodies, the first answer delayed: all answered, in order', async () => {
  await compare(async (net, t) => {
    const httpServer = http.createServer((req, res) => {
      let n = 0;
      req.on('data', (d) => (n += d.length));
      req.on('end', () => setTimeout(() => res.end(`${req.url} ${n}\n`), req.url === '/1' ? 50 : 0));
    });
    const server = net.createServer((sock) => httpServer.emit('connection', sock));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const body = Buffer.alloc(300000, 1);
    const c = require('node:net').connect(server.address().port, '127.0.0.1');
    for (let i = 1; i <= 4; i++) {
      c.write(`POST /${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
      c.write(body);
    }
    let got = '';
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`answers so far: ${got.match(/\/\d \d+/g)}`)), 5000);
      c.on('data', (d) => {
        got += d;
        if ((got.match(/\/\d \d+/g) ?? []).length === 4) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    t.push('answers', got.match(/\/\d \d+/g));
    c.destroy();
    httpServer.close();
    await new Promise((r) => server.close(r));
  });
});

test('tls: a TLS session over our socket, both directions', async () => {
  await compare(async (net, t) => {
    const server = net.createServer((raw) => {
      const secure = new tls.TLSSocket(raw, { isServer: true, key, cert });
      secure.on('data', (d) => secure.end(`secure:${d}`));
      secure.on('error', (e) => t.push('server tls error', e.code));
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const raw = net.connect(server.address().port, '127.0.0.1');
    await new Promise((r) => raw.once('connect', r));
    const secure = tls.connect({ socket: raw, ca: cert, servername: 'localhost' });
    await new Promise((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    t.push('authorized', secure.authorized, secure.getProtocol() !== null);
    secure.write('hello');
    let reply = '';
    secure.on('data', (d) => (reply += d));
    await new Promise((r) => secure.once('end', r));
    t.push('reply', reply);
    secure.destroy();
    raw.destroy();
    await new Promise((r) => server.close(r));
  });
});
