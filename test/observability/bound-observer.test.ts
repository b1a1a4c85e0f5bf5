import { describe, expect, it } from 'vitest';
import { Histogram, Registry } from 'prom-client';
import { boundObserver } from '../../src/observability/bound-observer.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];

function histogramIn(registry: Registry): Histogram<'model' | 'operation'> {
  return new Histogram({ name: 'test_duration_seconds', help: 'test', labelNames: ['model', 'operation'] as const, buckets: BUCKETS, registers: [registry] });
}

describe('bound observer', () => {
  const values = [0, 0.0005, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.99, 1, 1.5, 42];

  it('exposes exactly what prom-client observe() does, per label set, including values on and past the bounds', async () => {
    const usual = new Registry();
    const bound = new Registry();
    const a = histogramIn(usual);
    const b = histogramIn(bound);
    const find = boundObserver(b, { model: 'Session', operation: 'find' });
    const upsert = boundObserver(b, { model: 'Session', operation: 'upsert' });
    for (const value of values) {
      a.observe({ model: 'Session', operation: 'find' }, value);
      find(value);
    }
    a.observe({ model: 'Session', operation: 'upsert' }, 0.02);
    upsert(0.02);
    expect(await bound.metrics()).toBe(await usual.metrics());
    expect(await bound.metrics()).toContain('test_duration_seconds_count{model="Session",operation="find"} 11');
  });

  it('shares the entry with the usual observe and with another observer of the same labels', async () => {
    const registry = new Registry();
    const histogram = histogramIn(registry);
    histogram.observe({ model: 'Grant', operation: 'find' }, 0.5);
    const one = boundObserver(histogram, { model: 'Grant', operation: 'find' });
    const two = boundObserver(histogram, { operation: 'find', model: 'Grant' });
    one(0.005);
    two(0.005);
    expect(await registry.metrics()).toContain('test_duration_seconds_count{model="Grant",operation="find"} 3');
    expect(await registry.metrics()).toContain('test_duration_seconds_bucket{le="0.01",model="Grant",operation="find"} 2');
  });

  it('keeps counting after the histogram is reset, from zero', async () => {
    const registry = new Registry();
    const histogram = histogramIn(registry);
    const observe = boundObserver(histogram, { model: 'AccessToken', operation: 'find' });
    observe(0.002);
    histogram.reset();
    observe(0.003);
    observe(0.004);
    expect(await registry.metrics()).toContain('test_duration_seconds_count{model="AccessToken",operation="find"} 2');
  });

  it('refuses a value that is not a number, as prom-client does', () => {
    const observe = boundObserver(histogramIn(new Registry()), { model: 'x', operation: 'find' });
    observe(0.001);
    expect(() => observe(Number.NaN)).toThrow(TypeError);
  });
});
