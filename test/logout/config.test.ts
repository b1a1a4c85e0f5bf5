import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { queueDefinition } from '../../src/events/backchannel-logout.ts';

describe('back-channel logout settings', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'idp-bcl-config-'));

  it('retry for about an hour by default, bounded, and say so in the queue definition', () => {
    const config = loadConfig({}, cwd);
    expect(config.backchannelLogout).toEqual({ retryLimit: 12, retryDelaySeconds: 5, retryDelayMaxSeconds: 600 });
    const definition = queueDefinition(config.backchannelLogout, config.timeouts.outboundMs);
    expect(definition).toMatchObject({ retryLimit: 12, retryDelaySeconds: 5, retryDelayMaxSeconds: 600 });
    // Each retry waits 1-2 times delay·2^n, at most the maximum: from about 40 minutes to well past an hour in all.
    const least = Array.from({ length: 12 }, (_, n) => Math.min(600, 5 * 2 ** n)).reduce((sum, delay) => sum + delay, 0);
    expect(least).toBeGreaterThan(40 * 60);
    expect(least).toBeLessThan(2 * 3600);
    // One attempt's lease outlasts the outbound deadline.
    expect(definition.attemptSeconds * 1000).toBeGreaterThan(config.timeouts.outboundMs);
  });

  it('reads the environment and refuses a first delay longer than the longest', () => {
    expect(loadConfig({ BACKCHANNEL_LOGOUT_RETRY_LIMIT: '3', BACKCHANNEL_LOGOUT_RETRY_DELAY_SECONDS: '1', BACKCHANNEL_LOGOUT_RETRY_DELAY_MAX_SECONDS: '2' }, cwd).backchannelLogout)
      .toEqual({ retryLimit: 3, retryDelaySeconds: 1, retryDelayMaxSeconds: 2 });
    expect(() => loadConfig({ BACKCHANNEL_LOGOUT_RETRY_DELAY_SECONDS: '700' }, cwd)).toThrow(/backchannelLogout\.retryDelaySeconds/);
    expect(() => loadConfig({ BACKCHANNEL_LOGOUT_RETRY_LIMIT: 'many' }, cwd)).toThrow(/backchannelLogout\.retryLimit/);
  });
});
