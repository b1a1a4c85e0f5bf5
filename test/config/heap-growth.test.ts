import { describe, expect, it } from 'vitest';
import { tuneHeapGrowth } from '../../src/config/heap-growth.ts';

// What it does to memory is measured by `npm run bench` (README, "Memory"); here, when it acts.
describe('heap growth on the embedded database', () => {
  it('is left to V8 on PostgreSQL', () => {
    expect(tuneHeapGrowth(false, [])).toBe(false);
  });

  it('leaves an operator\'s own setting on the node command line alone', () => {
    expect(tuneHeapGrowth(true, ['--max-semi-space-size=8', '--heap-growing-percent=0'])).toBe(false);
    expect(tuneHeapGrowth(true, ['--heap_growing_percent=30'])).toBe(false);
  });

  it('is set on the embedded database otherwise', () => {
    expect(tuneHeapGrowth(true, ['--max-semi-space-size=8'])).toBe(true);
  });
});
