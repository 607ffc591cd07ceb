// Baseline for bench/twin_wrk.sh: a minimal Node.js http server answering
// every POST with the bytes a twin answered (argv[2]: the body file,
// argv[3]: its content type). Prints the bound port on stdout.
'use strict';
const fs = require('fs');
const http = require('http');

const body = fs.readFileSync(process.argv[2]);
const type = process.argv[3];
const server = http.createServer((req, res) => {
  req.resume(); // read and drop the request body, as the twin must
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
