import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { HashSlots, hashPassword, verifyPassword } from '../../src/accounts/password.ts';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => { resolve = done; });
  return { promise, resolve };
};

describe('password hashing slots', () => {
  it('runs at most its size at once and the rest in arrival order', async () => {
    const slots = new HashSlots(2);
    const gates = Array.from({ length: 5 }, deferred);
    const started: number[] = [];
    let peak = 0;
    const runs = gates.map((gate, index) => slots.run(async () => {
      started.push(index);
      peak = Math.max(peak, slots.running);
      await gate.promise;
      return index;
    }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1]);
    gates[1]!.resolve();
    await runs[1];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
    for (const gate of gates) gate.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(slots.running).toBe(0);
  });

  it('frees the slot of a failed run', async () => {
    const slots = new HashSlots(1);
    await expect(slots.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(slots.running).toBe(0);
    expect(await slots.run(async () => 'next')).toBe('next');
  });

  it('verifies many passwords at once, more than there are cores, each with its own answer', async () => {
    const stored = await hashPassword('correct horse battery');
    const attempts = Array.from({ length: availableParallelism() * 2 + 1 }, (_, index) => (index % 2 ? 'correct horse battery' : `wrong ${index}`));
    const results = await Promise.all(attempts.map((attempt) => verifyPassword(stored, attempt)));
    expect(results).toEqual(attempts.map((attempt) => attempt === 'correct horse battery'));
  });
});
