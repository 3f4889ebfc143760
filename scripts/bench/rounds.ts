import { median, type LoadResult } from './load.js';

/**
 * Paired rounds: every round runs each load once, back to back, in an order
 * rotated from round to round, so drift (and the other work on a shared
 * machine) hits all of them alike. A ratio is computed inside each round
 * (A and B measured seconds apart), and the reported ratio is the median of
 * those per-round ratios — the one ratio definition of the bench. The rates
 * printed next to it are that median round's own, so a row's numbers always
 * agree with its ratio.
 *
 * Mirrored rounds (`mirrored`): each load runs twice per round, for half
 * its time, in the rotated order and then in the reverse order (A B C D D C
 * B A). Every load's two halves then sit symmetrically around the middle of
 * the round, so a drift of the machine's speed during the round (other work
 * starting or stopping) cancels in every ratio, not only in neighbours', and
 * a burst of other work hits half of one load instead of all of it.
 *
 * Spread: the median absolute deviation of the per-round ratios from their
 * median (robust to one round hit by a burst of other work); the min–max
 * range is printed too. Rounds continue until every headline ratio's spread
 * is below the target, within a bound.
 */

export type Loads = Record<string, () => Promise<LoadResult>>;

export interface RoundsOptions {
  minRounds: number;
  maxRounds: number;
  /** Stop once each ratio's spread is below this (±). */
  targetSpread: number;
  /** The ratios that must reach the target spread (default: all). */
  converge?: string[];
  /** Run each load twice per round, order then reverse order (the loads are then half as long: the caller's choice). */
  mirrored?: boolean;
  /** Called after each load in each round (e.g. to sample per-round side measurements). */
  around?: (name: string, load: () => Promise<LoadResult>) => Promise<LoadResult>;
  log?: (line: string) => void;
}

export interface RatioResult {
  /** Median of the per-round ratios. */
  ratio: number;
  /** ± median absolute deviation of the per-round ratios. */
  spread: number;
  min: number;
  max: number;
  perRound: number[];
  /** The round whose ratio is the median: its A and B results. */
  a: LoadResult;
  b: LoadResult;
  rounds: number;
  converged: boolean;
}

export async function pairedRounds(
  loads: Loads,
  ratios: Record<string, [string, string]>,
  options: RoundsOptions,
): Promise<{ ratios: Record<string, RatioResult>; rounds: Record<string, LoadResult>[] }> {
  const names = Object.keys(loads);
  const rounds: Record<string, LoadResult>[] = [];
  const spreads = () => Object.fromEntries(Object.entries(ratios).map(([name, [a, b]]) => [name, spreadOf(rounds.map((r) => r[a]!.rps / r[b]!.rps))]));
  for (let round = 0; round < options.maxRounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]!);
    const halves: Record<string, LoadResult[]> = {};
    for (const name of options.mirrored ? [...order, ...[...order].reverse()] : order) {
      const result = options.around ? await options.around(name, loads[name]!) : await loads[name]!();
      (halves[name] ??= []).push(result);
    }
    const results = Object.fromEntries(Object.entries(halves).map(([name, parts]) => [name, combine(parts)]));
    rounds.push(results);
    // Every load's own rate, per round: a ratio's spread can then be traced to the side that moved.
    options.log?.(`    round ${rounds.length} rates: ${names.map((name) => `${name} ${Math.round(results[name]!.rps)}/s`).join(', ')}`);
    // An odd number of rounds, so the median ratio is one round's own.
    if (rounds.length >= options.minRounds && rounds.length % 2 === 1) {
      const current = spreads();
      options.log?.(
        `  round ${rounds.length}: ${Object.entries(current)
          .map(([name, s]) => `${name} ${s.median.toFixed(2)} ±${s.mad.toFixed(3)}`)
          .join(', ')}`,
      );
      const watched = options.converge ?? Object.keys(ratios);
      if (watched.every((name) => current[name]!.mad < options.targetSpread)) break;
    }
  }
  const out: Record<string, RatioResult> = {};
  for (const [name, [a, b]] of Object.entries(ratios)) {
    const perRound = rounds.map((r) => r[a]!.rps / r[b]!.rps);
    const s = spreadOf(perRound);
    const medianRound = rounds[perRound.indexOf(s.median)]!;
    out[name] = {
      ratio: s.median,
      spread: s.mad,
      min: Math.min(...perRound),
      max: Math.max(...perRound),
      perRound,
      a: medianRound[a]!,
      b: medianRound[b]!,
      rounds: rounds.length,
      converged: s.mad < options.targetSpread,
    };
  }
  return { ratios: out, rounds };
}

/** `median` picks an actual element (the upper middle for an even count), so it names one round. The spread is the MAD around it. */
export function spreadOf(values: number[]): { median: number; mad: number } {
  const m = median(values);
  return { median: m, mad: median(values.map((v) => Math.abs(v - m))) };
}

/** One load's result from its equally long parts: mean rate and percentiles, summed counts. */
function combine(parts: LoadResult[]): LoadResult {
  if (parts.length === 1) return parts[0]!;
  const mean = (pick: (r: LoadResult) => number) => parts.reduce((sum, r) => sum + pick(r), 0) / parts.length;
  return {
    rps: mean((r) => r.rps),
    p50Ms: mean((r) => r.p50Ms),
    p99Ms: mean((r) => r.p99Ms),
    errors: parts.reduce((sum, r) => sum + r.errors, 0),
    requests: parts.reduce((sum, r) => sum + r.requests, 0),
  };
}
