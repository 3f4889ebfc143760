import { restLoad, median } from './load.js';
import { startListeningScript, startOurServer, startProcess } from './processes.js';
import { pairedRounds } from './rounds.js';
const JOKE = JSON.stringify({ data: { name: 'Ada' } });
const c = Number(process.env.C ?? 64);
const secs = Number(process.env.S ?? 2);
const ours = await startOurServer();
const plain = await startListeningScript('scripts/bench/plain-flow-server.ts');
const url = { ours: `http://127.0.0.1:${ours.ports.rest}/tellJoke`, plain: `http://127.0.0.1:${plain.ports.port}/tellJoke` } as Record<string, string>;
const procs = [ours, plain];
if (process.env.OTHER) {
  // Another checkout's server (e.g. main), run as npm start does.
  const json = (line: string) => { try { return JSON.parse(line); } catch { return {}; } };
  const { spawn } = await import('node:child_process');
  const other = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], { cwd: process.env.OTHER, env: { ...process.env, PORT: '0', GRPC_PORT: '0', HOST: '127.0.0.1', RATE_LIMIT: '100000000/second', LOG_FORMAT: 'json', GEMINI_API_KEY: '' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const { createInterface } = await import('node:readline');
  url.other = await new Promise<string>((resolve) => createInterface({ input: other.stdout! }).on('line', (l) => { const j = json(l); if (j.msg?.startsWith('REST listening')) resolve(`http://127.0.0.1:${j.port}/tellJoke`); }));
  procs.push({ stop: async () => { other.kill('SIGTERM'); } } as never);
}
for (const u of Object.values(url)) await restLoad(u, JOKE, 16, 2);
const loads = Object.fromEntries(Object.entries(url).map(([k, u]) => [k, () => restLoad(u, JOKE, c, secs)]));
const ratios: Record<string, [string, string]> = { oursVsPlain: ['ours', 'plain'] };
if (url.other) { ratios.otherVsPlain = ['other', 'plain']; ratios.oursVsOther = ['ours', 'other']; }
const r = await pairedRounds(loads, ratios, { minRounds: Number(process.env.R ?? 7), maxRounds: Number(process.env.R ?? 7), targetSpread: 0.05, converge: [], log: (l) => console.error(l) });
for (const [k, v] of Object.entries(r.ratios)) console.log(k, v.ratio.toFixed(3), '±', v.spread.toFixed(3), v.perRound.map((x) => x.toFixed(2)).join(' '), `a ${Math.round(v.a.rps)} b ${Math.round(v.b.rps)}`);
console.log('median rps', Object.fromEntries(Object.keys(url).map((k) => [k, Math.round(median(r.rounds.map((x) => x[k]!.rps)))])));
await Promise.all(procs.map((p) => p.stop()));
void startProcess;
