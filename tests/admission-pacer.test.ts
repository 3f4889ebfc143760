import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createAdmissionPacer } from '../server/admission-pacer.js';

/** Counts event-loop iterations: an immediate set from an immediate runs in the next one. */
function turnCounter(): { now: () => number; stop: () => void } {
  let turn = 0;
  let counting = setImmediate(function tick() {
    turn++;
    counting = setImmediate(tick);
  });
  return { now: () => turn, stop: () => clearImmediate(counting) };
}

describe('admission pacer', () => {
  it('starts nothing inline: a lone call starts in the check phase of the turn it arrived in', async () => {
    const pacer = createAdmissionPacer(4);
    const order: string[] = [];
    pacer.admit(() => order.push('started'));
    order.push('admit returned');
    setTimeout(() => order.push('next turn timer'), 0);
    await nextTurn();
    assert.deepEqual(order, ['admit returned', 'started'], 'not inline, and before the next turn');
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(order, ['admit returned', 'started', 'next turn timer']);
  });

  it('starts the calls that arrived in one turn together, in arrival order', async () => {
    const pacer = createAdmissionPacer(16);
    const turns = turnCounter();
    const startedIn: number[] = [];
    for (let i = 0; i < 10; i++) pacer.admit(() => startedIn.push(turns.now()));
    while (startedIn.length < 10) await nextTurn();
    turns.stop();
    assert.equal(new Set(startedIn).size, 1, `one batch: ${JSON.stringify(startedIn)}`);
  });

  it('starts a burst in slices of perTurn per event-loop turn, in arrival order, one event-loop iteration apart', async () => {
    const pacer = createAdmissionPacer(4);
    const turns = turnCounter();
    const started: number[] = [];
    const turnOf: number[] = [];
    for (let i = 0; i < 10; i++) {
      pacer.admit(() => {
        started.push(i);
        turnOf.push(turns.now());
      });
    }
    assert.deepEqual(started, [], 'nothing starts inline');
    while (started.length < 10) await nextTurn();
    turns.stop();
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'arrival order is kept');
    for (let slice = 0; slice * 4 < 10; slice++) {
      assert.equal(new Set(turnOf.slice(slice * 4, slice * 4 + 4)).size, 1, `slice ${slice} starts within one turn`);
    }
    assert.ok(turnOf[4]! > turnOf[3]! && turnOf[8]! > turnOf[7]!, 'each slice starts in a later event-loop iteration');
  });

  it('keeps later arrivals behind the ones already waiting, and starts promptly again once the burst is over', async () => {
    const pacer = createAdmissionPacer(2);
    const order: string[] = [];
    for (const name of ['a', 'b', 'c']) pacer.admit(() => order.push(name));
    await nextTurn();
    assert.deepEqual(order, ['a', 'b']);
    // 'c' waits; a newcomer joins the queue behind it.
    pacer.admit(() => order.push('d'));
    while (order.length < 4) await nextTurn();
    assert.deepEqual(order, ['a', 'b', 'c', 'd']);
    await nextTurn();
    pacer.admit(() => order.push('e'));
    await nextTurn();
    assert.deepEqual(order, ['a', 'b', 'c', 'd', 'e'], 'a quiet pacer starts a call in the turn it arrives');
  });
});
