import { describe, expect, it } from 'vitest';
import { eventPatternProblem, matchesEvents } from '../../src/events/event-types.ts';
import { createWebhookOutbox, deliveryKey } from '../../src/events/webhooks/outbox.ts';
import type { ConfigCache } from '../../src/cache/config-cache.ts';
import type { JobQueue } from '../../src/events/queue.ts';
import type { AuditEvent } from '../../src/audit/repository.ts';

describe('webhook filters and routing (pure logic)', () => {
  it('filters take names, prefixes and *, and refuse what matches no event', () => {
    expect(matchesEvents([], 'login.failed')).toBe(true);
    expect(matchesEvents(['login.*'], 'login.failed')).toBe(true);
    expect(matchesEvents(['login.*'], 'account.locked')).toBe(false);
    expect(matchesEvents(['account.locked', 'mfa.*'], 'mfa.reset')).toBe(true);
    expect(matchesEvents(['*'], 'key.rotated')).toBe(true);
    // A prefix is whole segments: password.* is not password_reset.*.
    expect(matchesEvents(['password.*'], 'password_reset.requested')).toBe(false);
    expect(eventPatternProblem('login.failed')).toBeNull();
    expect(eventPatternProblem('webhook.*')).toBeNull();
    expect(eventPatternProblem('login.suceeded')).toMatch(/matches no audit event/);
    expect(eventPatternProblem('nothing.*')).toMatch(/matches no audit event/);
    for (const bad of ['login*', 'Login.failed', 'login.', '.failed', 'login.*.x', '']) expect(eventPatternProblem(bad), bad).toMatch(/neither an event name/);
  });

  it('a test goes to its webhook alone; a failure report never to the webhook that failed, nor anywhere when it reports a failed report', async () => {
    const webhooks = [{ id: 'a', events: [] }, { id: 'b', events: ['webhook.*'] }, { id: 'c', events: ['login.*'] }];
    const cache = { get: async () => webhooks } as unknown as ConfigCache;
    const sent: Array<{ data: unknown; key?: string }> = [];
    const jobs = { send: async (_name: string, data: unknown, options: { key?: string }) => void sent.push({ data, key: options.key }) } as unknown as JobQueue;
    const outbox = createWebhookOutbox({ db: { query: async () => ({ rows: [] as never[], rowCount: 0 }) }, cache, jobs });
    const targets = (event: AuditEvent) => outbox.targets(event, null);

    expect(await targets({ event: 'login.failed' })).toEqual(['a', 'c']);
    expect(await targets({ event: 'account.locked' })).toEqual(['a']);
    expect(await targets({ event: 'webhook.test', details: { webhookId: 'c' } })).toEqual(['c']);
    expect(await targets({ event: 'webhook.delivery_failed', details: { webhookId: 'a', eventType: 'login.failed' } })).toEqual(['b']);
    expect(await targets({ event: 'webhook.delivery_failed', details: { webhookId: 'b', eventType: 'webhook.delivery_failed' } })).toEqual([]);
    // Inside a transaction the list is read through it.
    expect(await outbox.targets({ event: 'login.failed' }, { query: async () => ({ rows: [{ id: 'z', events: [] }] as never[], rowCount: 1 }) })).toEqual(['z']);

    await outbox.enqueue({ event: 'login.failed', id: '41', accountId: 'acc-1' }, ['a', 'c'], { query: async () => ({ rows: [], rowCount: 0 }) });
    await outbox.enqueue({ event: 'login.failed', id: '42', accountId: null }, ['a'], { query: async () => ({ rows: [], rowCount: 0 }) });
    expect(sent).toEqual([
      { data: { webhookId: 'a', eventId: '41' }, key: 'a:acc-1' },
      { data: { webhookId: 'c', eventId: '41' }, key: 'c:acc-1' },
      { data: { webhookId: 'a', eventId: '42' }, key: 'a:none' },
    ]);
    expect(deliveryKey('w', undefined)).toBe('w:none');
  });
});
