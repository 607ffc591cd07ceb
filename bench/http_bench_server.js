// Baseline for bench/http.sh: a minimal Node.js http server answering GET /
// with the same 400-byte JSON body as bench/http_bench_server.c. Prints the
// bound port on stdout.
'use strict';
const http = require('http');

const head = '{"id":"msg_bench","type":"message","pad":"';
const tail = '"}';
const body = Buffer.from(head + 'x'.repeat(400 - head.length - tail.length) + tail);
if (body.length !== 400) throw new Error('body is ' + body.length + ' bytes');

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
  } else {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"error":"not found"}');
  }
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(server.address().port + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
