import { describe, expect, it } from 'vitest';
import { linkLifetime } from '../../src/mail/templates.ts';

describe('the lifetime a mail states for its link', () => {
  it('uses the largest unit that states it exactly', () => {
    expect(linkLifetime(300)).toBe('5 minutes');
    expect(linkLifetime(60)).toBe('1 minute');
    expect(linkLifetime(5400)).toBe('90 minutes');
    expect(linkLifetime(3600)).toBe('1 hour');
    expect(linkLifetime(86_400)).toBe('24 hours');
    expect(linkLifetime(3 * 86_400)).toBe('3 days');
  });

  it('refuses what it cannot state without rounding', () => {
    for (const bad of [0, 29, 90, 1.5, -60, Number.NaN, '300', undefined]) expect(() => linkLifetime(bad)).toThrow(/whole number of minutes/);
  });
});
