import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createAdmissionPacer } from '../server/admission-pacer.js';

describe('admission pacer', () => {
  it('starts a burst in slices of perTurn per event-loop turn, in arrival order, one event-loop iteration apart', async () => {
    const pacer = createAdmissionPacer(4);
    const started: number[] = [];
    const turnOf: number[] = [];
    // Counts event-loop iterations: an immediate set from an immediate runs in the next one.
    let turn = 0;
    let counting = setImmediate(function tick() {
      turn++;
      counting = setImmediate(tick);
    });
    for (let i = 0; i < 10; i++) {
      if (pacer.tryAdmit()) {
        started.push(i);
        turnOf.push(turn);
      } else {
        pacer.defer(() => {
          started.push(i);
          turnOf.push(turn);
        });
      }
    }
    assert.deepEqual(started, [0, 1, 2, 3], 'the first four start at once');
    while (started.length < 10) await nextTurn();
    clearImmediate(counting);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'arrival order is kept');
    for (let slice = 0; slice * 4 < 10; slice++) {
      const turns = new Set(turnOf.slice(slice * 4, slice * 4 + 4));
      assert.equal(turns.size, 1, `slice ${slice} starts within one turn`);
    }
    assert.ok(turnOf[4]! > turnOf[3]! && turnOf[8]! > turnOf[7]!, 'each slice starts in a later event-loop iteration');
  });

  it('keeps later arrivals behind the ones already waiting, and refills once the burst is over', async () => {
    const pacer = createAdmissionPacer(2);
    const order: string[] = [];
    for (const name of ['a', 'b', 'c']) if (pacer.tryAdmit()) order.push(name);
    else pacer.defer(() => order.push(name));
    await nextTurn();
    // 'c' waits; a newcomer must not overtake it even if the budget was refilled.
    if (pacer.tryAdmit()) order.push('d');
    else pacer.defer(() => order.push('d'));
    while (order.length < 4) await nextTurn();
    assert.deepEqual(order, ['a', 'b', 'c', 'd']);
    await nextTurn();
    await nextTurn();
    assert.equal(pacer.tryAdmit(), true, 'a quiet pacer admits at once');
  });
});
