import { describe, expect, it } from 'vitest';
import { createConfigCache, touchesConfig, type CacheLookup } from '../../src/cache/config-cache.ts';

/** A loader that counts its calls and can be held open until released. */
function loader<T>(value: T) {
  const calls: Array<{ release: () => void; fail: (error: Error) => void }> = [];
  const load = () => new Promise<T>((resolve, reject) => {
    calls.push({ release: () => resolve(value), fail: reject });
  });
  return { load, calls };
}

describe('config cache', () => {
  it('remembers nothing until its change feed is live, and forgets everything when it drops', async () => {
    const lookups: CacheLookup[] = [];
    const cache = createConfigCache({ onLookup: (lookup) => lookups.push(lookup) });
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('k', load)).toBe(1);
    expect(await cache.get('k', load)).toBe(2);
    cache.setActive(true);
    expect(await cache.get('k', load)).toBe(3);
    expect(await cache.get('k', load)).toBe(3);
    cache.setActive(false);
    expect(await cache.get('k', load)).toBe(4);
    cache.setActive(true);
    expect(await cache.get('k', load)).toBe(5);
    expect(lookups).toEqual(['bypass', 'bypass', 'miss', 'hit', 'bypass', 'miss']);
  });

  it('shares one load between concurrent lookups of a key, and keeps keys apart', async () => {
    const cache = createConfigCache();
    cache.setActive(true);
    const a = loader('a');
    const first = cache.get('a', a.load);
    const second = cache.get('a', a.load);
    expect(a.calls).toHaveLength(1);
    const b = loader('b');
    const other = cache.get('b', b.load);
    a.calls[0]!.release();
    b.calls[0]!.release();
    expect(await Promise.all([first, second, other])).toEqual(['a', 'a', 'b']);
  });

  it('does not remember an answer whose load was running when a change arrived', async () => {
    const cache = createConfigCache();
    cache.setActive(true);
    const before = loader('before the change');
    const pending = cache.get('k', before.load);
    cache.invalidate();
    before.calls[0]!.release();
    expect(await pending).toBe('before the change');
    const after = loader('after the change');
    const fresh = cache.get('k', after.load);
    expect(after.calls).toHaveLength(1);
    after.calls[0]!.release();
    expect(await fresh).toBe('after the change');
  });

  it('forgets a failed load at once, so the next lookup tries again', async () => {
    const cache = createConfigCache();
    cache.setActive(true);
    const failing = loader('never');
    const pending = cache.get('k', failing.load);
    failing.calls[0]!.fail(new Error('database down'));
    await expect(pending).rejects.toThrow('database down');
    expect(await cache.get('k', async () => 'recovered')).toBe('recovered');
  });

  it('holds at most `max` keys and lets entries expire after `ttlMs`', async () => {
    const cache = createConfigCache({ max: 2, ttlMs: 40 });
    cache.setActive(true);
    let loads = 0;
    const load = async () => ++loads;
    await cache.get('a', load);
    await cache.get('b', load);
    await cache.get('c', load); // evicts a, the least recently used
    expect(await cache.get('c', load)).toBe(3);
    expect(await cache.get('a', load)).toBe(4);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await cache.get('a', load)).toBe(5);
  });

  it('knows which writes touch cached tables', () => {
    for (const statement of [
      'UPDATE clients SET metadata = $2 WHERE id = $1',
      'INSERT INTO client_resource_scopes (client_id, indicator, scopes) VALUES ($1, $2, $3)',
      'DELETE FROM role_composites WHERE parent_id = $1',
      'insert into account_roles (account_id, role_id) values ($1, $2)',
      'UPDATE api_resources SET scopes = $2',
      'DELETE FROM permissions WHERE indicator = $1 AND NOT (name = ANY($2))',
    ]) expect(touchesConfig(statement), statement).toBe(true);
    for (const statement of [
      'INSERT INTO audit_events (event) VALUES ($1)',
      'UPDATE accounts SET last_login_at = now() WHERE id = $1',
      'DELETE FROM oidc_payloads WHERE expires_at < now()',
      'INSERT INTO consents (account_id, client_id) VALUES ($1, $2)',
    ]) expect(touchesConfig(statement), statement).toBe(false);
  });
});
