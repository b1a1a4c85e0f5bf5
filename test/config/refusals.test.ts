import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';

// A directory without config/idp.json: only the environment given here counts.
const cwd = mkdtempSync(join(tmpdir(), 'idp-config-'));
const load = (env: Record<string, string>) => () => loadConfig(env, cwd);

describe('configuration that cannot work is refused at start-up, naming the key', () => {
  it('refuses mailed link lifetimes the mail cannot state or that expire before the mail arrives', () => {
    expect(load({ TTL_PASSWORD_RESET: '20' })).toThrow(/ttl\.passwordReset: a mailed link must live at least 300 seconds/);
    expect(load({ TTL_EMAIL_VERIFICATION: '1799' })).toThrow(/ttl\.emailVerification: a mailed link lives whole minutes/);
    expect(load({ TTL_EMAIL_VERIFICATION: '120' })).toThrow(/ttl\.emailVerification/);
    expect(load({ TTL_PASSWORD_RESET: '90000' })).toThrow(/ttl\.passwordReset/);
    // Whole minutes are fine, also below an hour for verification.
    expect(loadConfig({ TTL_EMAIL_VERIFICATION: '1800', TTL_PASSWORD_RESET: '300' }, cwd).ttl).toMatchObject({ emailVerification: 1800, passwordReset: 300 });
  });

  it('refuses settings that contradict each other', () => {
    expect(load({ LOCKOUT_STEP_SECONDS: '1200', LOCKOUT_MAX_SECONDS: '600' })).toThrow(/lockout\.stepSeconds: the first lock/);
    expect(load({ REFRESH_TOKEN_GRACE_SECONDS: '60', TTL_REFRESH_TOKEN: '60' })).toThrow(/refreshTokenGraceSeconds: must be shorter than ttl\.refreshToken/);
    expect(load({ REFRESH_TOKEN_GRACE_SECONDS: '-1' })).toThrow(/refreshTokenGraceSeconds/);
    expect(load({ SHUTDOWN_TIMEOUT_MS: '1000', DATABASE_STATEMENT_TIMEOUT_MS: '5000' })).toThrow(/timeouts\.shutdownMs/);
    expect(loadConfig({ REFRESH_TOKEN_GRACE_SECONDS: '0' }, cwd).refreshTokenGraceSeconds).toBe(0);
  });
});
