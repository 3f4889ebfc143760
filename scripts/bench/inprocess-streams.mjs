import { defineFlows } from '../../dist/flows/index.js';
import { createGenkit } from '../../dist/genkit.config.js';

/**
 * Bench baseline for memory per open stream: the same flow streamed
 * in-process (`flow.stream()`, no server), on the same offline model and
 * chunk latency, on the dist/ build. On `{cmd: 'open-streams', n}` it starts
 * n streams and answers once each has yielded its first chunk (all open at
 * once, mid-stream); the bench then reads memory through the probe
 * (scripts/bench/probe.mjs). With `untilDone` it answers once every stream
 * has ended instead (the JIT warm-up before measuring).
 */
const { ai } = createGenkit({ kind: 'offline', latencyMs: Number(process.env.OFFLINE_MODEL_LATENCY_MS ?? 0) });
const tellJoke = defineFlows(ai).find((f) => f.__action.name === 'tellJoke');

process.on('message', (request) => {
  if (request.cmd !== 'open-streams') return;
  const firstChunks = Array.from({ length: request.n ?? 0 }, () => {
    const { stream, output } = tellJoke.stream({});
    if (request.untilDone) return output;
    output.catch(() => undefined);
    return new Promise((resolve, reject) => {
      void (async () => {
        let first = true;
        for await (const _chunk of stream) {
          if (first) resolve();
          first = false;
        }
      })().catch(reject);
    });
  });
  void Promise.all(firstChunks).then(
    () => process.send({ id: request.id, result: { open: firstChunks.length } }),
    (e) => process.send({ id: request.id, error: String(e) }),
  );
});
// Stays up until the bench stops it (SIGTERM).
setInterval(() => undefined, 1 << 30);
process.stdout.write('LISTENING 0\n');
