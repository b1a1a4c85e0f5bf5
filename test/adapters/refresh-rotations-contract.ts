import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import type { RefreshRotations } from '../../src/oidc/refresh-rotations.ts';

/** What the refresh grace window relies on, for every store (SQL, Redis standalone and Cluster). */
export function refreshRotationsContract(store: () => RefreshRotations): void {
  const key = () => randomBytes(16).toString('base64url');

  it('lets exactly one of many concurrent claims win', async () => {
    const rotations = store();
    const id = key();
    const claims = await Promise.all(Array.from({ length: 20 }, () => rotations.claim(id, 30)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await rotations.read(id)).toEqual({ state: 'pending' });
  });

  it('keeps the successor for the window, then forgets it and lets a new claim win', async () => {
    const rotations = store();
    const id = key();
    expect(await rotations.claim(id, 30)).toBe(true);
    await rotations.complete(id, 'successor-token', 1, undefined);
    expect(await rotations.read(id)).toEqual({ state: 'rotated', successor: 'successor-token' });
    expect(await rotations.claim(id, 30)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await rotations.read(id)).toBeNull();
    expect(await rotations.claim(id, 30)).toBe(true);
  });

  it('forgets a released claim at once, and never completes one that is gone', async () => {
    const rotations = store();
    const id = key();
    expect(await rotations.claim(id, 30)).toBe(true);
    await rotations.release(id);
    expect(await rotations.read(id)).toBeNull();
    await rotations.complete(id, 'late', 10, undefined);
    expect(await rotations.read(id)).toBeNull();
  });
}
