import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.ts';

/* The account console's two settings: how fresh a sign-in a change needs, and the idle time. */

const cwd = () => mkdtempSync(join(tmpdir(), 'idp-config-'));

describe('account console settings', () => {
  it('defaults to a five-minute fresh sign-in and thirty idle minutes, and reads both from the environment', () => {
    expect(loadConfig({}, cwd()).account).toEqual({ reauthSeconds: 300, idleSeconds: 1800 });
    expect(loadConfig({ ACCOUNT_REAUTH_SECONDS: '120', ACCOUNT_IDLE_SECONDS: '600' }, cwd()).account).toEqual({ reauthSeconds: 120, idleSeconds: 600 });
  });

  it('refuses values that cannot work, naming the key', () => {
    expect(() => loadConfig({ ACCOUNT_REAUTH_SECONDS: '10' }, cwd())).toThrow(ConfigError);
    expect(() => loadConfig({ ACCOUNT_REAUTH_SECONDS: '10' }, cwd())).toThrow(/account\.reauthSeconds/);
    expect(() => loadConfig({ ACCOUNT_IDLE_SECONDS: 'soon' }, cwd())).toThrow(/account\.idleSeconds/);
  });
});
