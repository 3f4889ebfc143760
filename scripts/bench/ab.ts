import { join, resolve } from 'node:path';
import { TellJokeRequest } from '../../generated/ts/genkit/flows/v1/flows.js';
import { grpcFrame, grpcLoad, restLoad, WARM_UP_SECONDS } from './load.js';
import { cpuMs, startOurServer, type BenchProcess } from './processes.js';
import { pairedRounds } from './rounds.js';

/**
 * `npm run bench -- --ab <dir>`: this tree's server (A) against the one built
 * in <dir> (B: another checkout with its own `npm run build`, e.g. main),
 * tellJoke at c=64 on REST and gRPC, in paired rounds (ratios A/B, the
 * bench's one definition), with process CPU per request. For checking a
 * change before and after, side by side, on a machine others are using too.
 */
export async function abBench(options: {
  baseline: string;
  rounds: number;
  seconds: number;
  concurrency: number;
  rows: string[][];
  summary: Record<string, number | null>;
  log: (line: string) => void;
}): Promise<void> {
  const { rounds, concurrency: c, log } = options;
  // Mirrored rounds (scripts/bench/rounds.ts): each load runs twice per round, for half the time.
  const seconds = options.seconds / 2;
  const body = JSON.stringify({ data: { name: 'Ada' } });
  const frame = grpcFrame(TellJokeRequest.encode({ name: 'Ada' }).finish());
  const servers: Record<'A' | 'B', BenchProcess> = {
    A: await startOurServer({}, undefined, { pinned: true }),
    B: await startOurServer({}, join(resolve(options.baseline), 'dist/main.js'), { pinned: true }),
  };
  try {
    const rest = (s: BenchProcess) => () => restLoad(`http://127.0.0.1:${s.ports.rest}/tellJoke`, body, c, seconds);
    const grpc = (s: BenchProcess) => () => grpcLoad(`http://127.0.0.1:${s.ports.grpc}/genkit.flows.v1.FlowService/TellJoke`, frame, c, seconds);
    await Promise.all([rest(servers.A)(), rest(servers.B)()]);
    await Promise.all([grpc(servers.A)(), grpc(servers.B)()]);
    const cpu: Record<string, number[]> = { restA: [], restB: [], grpcA: [], grpcB: [] };
    const { ratios } = await pairedRounds(
      { restA: rest(servers.A), restB: rest(servers.B), grpcA: grpc(servers.A), grpcB: grpc(servers.B) },
      { rest: ['restA', 'restB'], grpc: ['grpcA', 'grpcB'] },
      {
        minRounds: rounds,
        maxRounds: rounds,
        targetSpread: 0,
        mirrored: true,
        log,
        around: async (name, load) => {
          const pid = servers[name.endsWith('A') ? 'A' : 'B'].child.pid!;
          const before = await cpuMs(pid);
          const result = await load();
          cpu[name]!.push(((await cpuMs(pid)) - before) * 1000 / Math.max(1, result.requests * (1 + WARM_UP_SECONDS / seconds)));
          return result;
        },
      },
    );
    for (const surface of ['rest', 'grpc'] as const) {
      const r = ratios[surface]!;
      const cpuRatios = cpu[`${surface}A`]!.map((a, i) => a / cpu[`${surface}B`]![i]!).sort((x, y) => x - y);
      const medianCpu = cpuRatios[Math.floor(cpuRatios.length / 2)]!;
      options.rows.push([
        `A/B ${surface} c=${c}`,
        `A ${Math.round(r.a.rps)}/s`,
        `B ${Math.round(r.b.rps)}/s`,
        `ratio ${r.ratio.toFixed(3)} ±${r.spread.toFixed(3)} (${r.min.toFixed(2)}–${r.max.toFixed(2)}, ${r.rounds} rounds)`,
        `CPU/request A/B ${medianCpu.toFixed(3)} (${cpuRatios[0]!.toFixed(2)}–${cpuRatios.at(-1)!.toFixed(2)})`,
      ]);
      options.summary[`ab_${surface}_ratio`] = Math.round(r.ratio * 1000) / 1000;
      options.summary[`ab_${surface}_cpu_ratio`] = Math.round(medianCpu * 1000) / 1000;
    }
  } finally {
    await Promise.all([servers.A.stop(), servers.B.stop()]);
  }
}
