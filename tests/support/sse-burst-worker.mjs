// Worker thread of tests/support/sse-burst.ts (plain JS: workers do not get the tsx loader).
// Opens `count` REST SSE streams at once, each on its own connection, and reads each to its end.
import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { port, path, body, count } = workerData;
const agent = new Agent({ maxSockets: Infinity });
const outcome = { completed: 0, shed: 0, retryAfter: 0, other: {} };
await Promise.all(
  Array.from({ length: count }, () =>
    new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          if (res.statusCode === 200 && text.includes('data: {"result"')) outcome.completed++;
          else if (res.statusCode === 503) {
            outcome.shed++;
            if (res.headers['retry-after']) outcome.retryAfter++;
          } else outcome.other[res.statusCode] = (outcome.other[res.statusCode] ?? 0) + 1;
          resolve();
        });
      });
      req.on('error', (e) => {
        outcome.other[e.code] = (outcome.other[e.code] ?? 0) + 1;
        resolve();
      });
      req.end(body);
    }),
  ),
);
agent.destroy();
parentPort.postMessage(outcome);
