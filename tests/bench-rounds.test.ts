import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadResult } from '../scripts/bench/load.js';
import { pairedRounds } from '../scripts/bench/rounds.js';

/**
 * The bench's paired rounds (scripts/bench/rounds.ts): the order the loads
 * run in, and what a drift of the machine's speed does to the ratios. The
 * loads here are stand-ins whose rate is their true rate times the
 * machine's speed at the moment they run.
 */

function machine(speedAt: (step: number) => number) {
  let step = 0;
  const calls: string[] = [];
  const load = (name: string, rate: number) => async (): Promise<LoadResult> => {
    calls.push(name);
    const rps = rate * speedAt(step++);
    return { rps, p50Ms: 1, p99Ms: 2, errors: 0, requests: Math.round(rps) };
  };
  return { load, calls };
}

describe('bench paired rounds', () => {
  it('mirrored: each round runs the rotated order, then the reverse; each load twice', async () => {
    const m = machine(() => 1);
    await pairedRounds(
      { a: m.load('a', 100), b: m.load('b', 50), c: m.load('c', 25) },
      { ab: ['a', 'b'] },
      { minRounds: 3, maxRounds: 3, targetSpread: 0, mirrored: true },
    );
    assert.deepEqual(m.calls, ['a', 'b', 'c', 'c', 'b', 'a', 'b', 'c', 'a', 'a', 'c', 'b', 'c', 'a', 'b', 'b', 'a', 'c']);
  });

  it('mirrored: a steady drift of the machine cancels in every ratio, neighbours or not; unmirrored it does not', async () => {
    // The machine slows down by 5 % of its speed with every load that runs.
    const drift = (step: number) => 1 - 0.05 * step;
    const run = async (mirrored: boolean) => {
      const m = machine(drift);
      const { ratios } = await pairedRounds(
        { a: m.load('a', 100), b: m.load('b', 50), c: m.load('c', 80), d: m.load('d', 40) },
        { ab: ['a', 'b'], ad: ['a', 'd'] },
        { minRounds: 3, maxRounds: 3, targetSpread: 0, mirrored },
      );
      return ratios;
    };
    const mirrored = await run(true);
    for (const r of mirrored.ab!.perRound) assert.ok(Math.abs(r - 2) < 1e-9, `a/b per round ${r}, expected exactly 2`);
    for (const r of mirrored.ad!.perRound) assert.ok(Math.abs(r - 2.5) < 1e-9, `a/d per round ${r}, expected exactly 2.5`);
    assert.ok(mirrored.ab!.spread < 1e-9);
    const plain = await run(false);
    assert.ok(plain.ad!.perRound.some((r) => Math.abs(r - 2.5) > 0.05), `unmirrored a/d per round: ${plain.ad!.perRound.join(', ')}`);
  });

  it('a burst of other work during one half moves that round half as much as a whole load', async () => {
    // The machine runs at half speed for exactly one load run (step 1: b's first run).
    const slowStep = (step: number) => (step === 1 ? 0.5 : 1);
    const once = async (mirrored: boolean) => {
      const m = machine(slowStep);
      const { ratios } = await pairedRounds({ a: m.load('a', 100), b: m.load('b', 100) }, { ab: ['a', 'b'] }, { minRounds: 1, maxRounds: 1, targetSpread: 0, mirrored });
      return ratios.ab!.perRound[0]!;
    };
    assert.equal(await once(false), 2); // b measured entirely at half speed
    assert.ok(Math.abs((await once(true)) - 100 / 75) < 1e-9); // b: one half at half speed, one at full
  });
});
