import { createServer } from 'node:http';

/**
 * Bench helper: an OTLP/HTTP endpoint that accepts every export and drops it,
 * in its own process, so the server under test pays the full cost of
 * exporting (serialising, sending) and none of the receiving.
 */
let spansBytes = 0;
const server = createServer((req, res) => {
  req.on('data', (chunk: Buffer) => (spansBytes += chunk.length));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' });
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => {
  process.stderr.write(`otlp-sink: received ${(spansBytes / 1024 / 1024).toFixed(1)} MiB of spans\n`);
  process.exit(0);
});
