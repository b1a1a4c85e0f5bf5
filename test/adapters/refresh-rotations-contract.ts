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
    expect(await rotations.read(id)).toMatchObject({ state: 'pending', claim: expect.any(String) });
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

  it('lets exactly one of many concurrent takeovers replace a stale claim, and only that claim', async () => {
    const rotations = store();
    const id = key();
    expect(await rotations.claim(id, 30)).toBe(true);
    const stale = await rotations.read(id);
    expect(stale?.state).toBe('pending');
    const takeovers = await Promise.all(Array.from({ length: 10 }, () => rotations.takeOver(id, stale!, 30)));
    expect(takeovers.filter(Boolean)).toHaveLength(1);
    const current = await rotations.read(id);
    expect(current).toMatchObject({ state: 'pending' });
    expect(current).not.toEqual(stale);
    // The old claim is gone: taking it over again does nothing; a rotation is never taken over.
    expect(await rotations.takeOver(id, stale!, 30)).toBe(false);
    await rotations.complete(id, 'successor-token', 10, undefined);
    expect(await rotations.takeOver(id, current!, 30)).toBe(false);
    expect(await rotations.read(id)).toEqual({ state: 'rotated', successor: 'successor-token' });
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
