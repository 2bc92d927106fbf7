// Slots: at most n tasks at once, the rest in order; a failing task frees its slot.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Slots } from "../src/lib/slots.ts";

test("Slots runs at most n tasks at once, the waiting ones in arrival order, and frees the slot of a task that throws", async () => {
  const slots = new Slots(2);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const task = (i: number) => async () => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 5));
    order.push(i);
    running--;
    if (i === 3) throw new Error("task 3 failed");
    return i;
  };
  const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((i) => slots.run(task(i))));
  assert.equal(most, 2);
  assert.deepEqual(
    results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message)),
    [1, 2, "task 3 failed", 4, 5, 6],
  );
  assert.deepEqual(order.slice(0, 2).sort(), [1, 2]);
  assert.deepEqual(order.slice(2).sort(), [3, 4, 5, 6]);
  assert.equal(slots.queued, 0);
  // every slot is free again: two run at once straight away
  let started = 0;
  const gate = new Promise<void>((r) => setTimeout(r, 20));
  const two = [
    slots.run(async () => {
      started++;
      await gate;
    }),
    slots.run(async () => {
      started++;
      await gate;
    }),
  ];
  await new Promise((r) => setImmediate(r));
  assert.equal(started, 2);
  await Promise.all(two);
});
