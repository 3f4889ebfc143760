import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { madOverMedian, perSecondCounts, ratioSpread, spacedPairs, windowMeans } from '../scripts/bench/steadiness.js';

/**
 * The statistics of scripts/bench/steadiness.ts (no server): per-second
 * rates from h2load's request start times, window means, and the floor a
 * single server's unsteadiness puts under the spread of a ratio.
 */

describe('bench steadiness statistics', () => {
  it('per-second counts from start times (µs since the epoch): partial first and last seconds dropped', () => {
    const t0 = 1_700_000_000_000_000;
    // 3 requests in second 0 (partial), 5 in second 1, none in second 2, 2 in second 3, 1 in second 4 (partial).
    const starts = [0, 0.2, 0.9, 1.0, 1.1, 1.5, 1.7, 1.99, 3.2, 3.4, 4.1].map((s) => t0 + s * 1e6);
    const { fromMs, counts } = perSecondCounts(starts.reverse());
    assert.deepEqual(counts, [5, 0, 2]);
    assert.equal(fromMs, t0 / 1000 + 1000);
    assert.deepEqual(perSecondCounts([]).counts, []);
  });

  it('window means: consecutive, non-overlapping, a trailing partial window dropped', () => {
    assert.deepEqual(windowMeans([1, 3, 5, 7, 9, 11, 100], 2), [2, 6, 10]);
    assert.deepEqual(windowMeans([1, 2, 3], 4), []);
  });

  it('MAD over median: 0 for a constant series, robust to one outlier', () => {
    assert.equal(madOverMedian([50, 50, 50]), 0);
    // median 100, deviations 10 0 10 0 900 → MAD 10.
    assert.equal(madOverMedian([90, 100, 110, 100, 1000]), 0.1);
  });

  it('spaced pairs: a mirrored round is the mean of two windows half the series apart', () => {
    assert.deepEqual(spacedPairs([10, 20, 30, 40]), [20, 30]);
    assert.deepEqual(spacedPairs([10, 20, 30, 40, 50]), [20, 30]);
  });

  it('ratio spread over all window pairs: zero for steady servers, grows with either side\'s unsteadiness', () => {
    assert.deepEqual(ratioSpread([200, 200], [100, 100, 100]), { ratio: 2, mad: 0, relative: 0 });
    // A steady B and an A moving ±5 % (MAD): the ratio moves ±5 % too.
    const a = [90, 95, 100, 105, 110];
    const oneSide = ratioSpread(a, [100, 100, 100]);
    assert.ok(Math.abs(oneSide.ratio - 1) < 1e-9);
    assert.ok(Math.abs(oneSide.mad - 0.05) < 1e-9, `mad ${oneSide.mad}`);
    assert.ok(Math.abs(oneSide.relative - 0.05) < 1e-9);
    const bothSides = ratioSpread(a, [80, 100, 120]);
    assert.ok(bothSides.mad > oneSide.mad, `both sides moving: ${bothSides.mad} > ${oneSide.mad}`);
  });
});
