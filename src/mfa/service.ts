import { randomUUID } from 'node:crypto';
import type { Database } from '../db/database.ts';
import type { Clock } from '../clock.ts';
import { createSecretBox } from './secret-box.ts';
import { checkTotp, newTotpSecret, totpUri } from './totp.ts';
import { qrDataUrl } from './qr.ts';
import { hashRecoveryCode, newRecoveryCodes, normaliseRecoveryCode } from './recovery-codes.ts';
import type { MfaKeys } from './keys.ts';
import {
  countUnusedRecoveryCodes, deleteAllFactors, deleteFactor, deleteFactorKeepingOne, findFactor, findFactorsByAccount, insertTotpFactor, renameFactor, replaceRecoveryCodes, takeTotpStep, useRecoveryCode,
  type StoredFactor,
} from './factors-repository.ts';
import { findFactorsWithCredentials, type DeviceType, type StoredCredential } from './credentials-repository.ts';

export type MfaService = ReturnType<typeof createMfaService>;

/** What a person sees of a factor: never its secret. */
export interface FactorView {
  id: string;
  kind: StoredFactor['kind'];
  name: string;
  confirmed: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
  /** Passkeys only (null otherwise): whether it is backed up now, synced (multiDevice) or bound to one device, how it connects. */
  backedUp: boolean | null;
  deviceType: DeviceType | null;
  transports: string[] | null;
}

const view = (factor: StoredFactor, passkey?: StoredCredential): FactorView => ({
  id: factor.id, kind: factor.kind, name: factor.name, confirmed: factor.confirmedAt !== null, createdAt: factor.createdAt, lastUsedAt: factor.lastUsedAt,
  backedUp: passkey?.backedUp ?? null, deviceType: passkey?.deviceType ?? null, transports: passkey ? passkey.transports : null,
});

/** Sealed to its row: a secret copied to another factor or account does not open. */
const sealContext = (accountId: string, factorId: string) => `totp:${accountId}:${factorId}`;

/**
 * Second factors (issue 13, first part): authenticator apps and recovery codes. Knows no HTTP;
 * the sign-in step and the account pages build on it. Codes are checked against every
 * confirmed factor of the account; the time step taken is recorded atomically, so a code is
 * accepted once across every instance.
 */
export function createMfaService(deps: { db: Database; keys: MfaKeys; issuer: string; brandName: string; clock: Clock }) {
  const { db, keys, clock } = deps;
  const box = createSecretBox(keys.sealing);
  // Stored as `<key id>:<hmac>`; a code is looked up under every key, so rotation keeps old codes.
  const hashesOf = (code: string) => keys.peppers.map((pepper) => `${pepper.id}:${hashRecoveryCode(code, pepper.key)}`);

  async function checkFactor(factor: StoredFactor, code: string): Promise<'ok' | 'invalid' | 'replayed' | 'malformed'> {
    const secret = box.open(factor.secretSealed!, sealContext(factor.accountId, factor.id));
    const result = checkTotp({ secret, code, now: clock.now(), lastUsedStep: factor.lastUsedStep });
    if (!result.ok) return result.reason;
    return (await takeTotpStep(db, factor.id, result.step)) ? 'ok' : 'replayed';
  }

  return {
    async listFactors(accountId: string): Promise<FactorView[]> {
      const { factors, credentials: passkeys } = await findFactorsWithCredentials(db, accountId);
      const details = new Map(passkeys.map((passkey) => [passkey.factorId, passkey]));
      return factors.map((factor) => view(factor, details.get(factor.id)));
    },

    /** Whether the account has a factor that can sign in (a confirmed one). */
    hasFactor: async (accountId: string): Promise<boolean> => (await findFactorsByAccount(db, accountId)).some((factor) => factor.confirmedAt !== null),

    /**
     * Starts enrolling an authenticator app: an unconfirmed factor, and what the app needs, as a
     * QR code and as text for manual entry. It signs in only once `confirmTotp` saw a first code.
     */
    async enrolTotp(accountId: string, accountLabel: string, name = 'Authenticator app') {
      const id = randomUUID();
      const secret = newTotpSecret();
      await insertTotpFactor(db, { id, accountId, name: name.slice(0, 64), secretSealed: box.seal(secret, sealContext(accountId, id)) });
      const uri = totpUri({ secret, issuer: deps.brandName, account: accountLabel });
      return { factorId: id, secret, uri, qr: await qrDataUrl(uri) };
    },

    /**
     * An enrolment not yet confirmed, shown again (a wrong first code, a reload): the secret
     * stays sealed server-side between the two pages, never in a hidden form field.
     */
    async totpEnrolment(accountId: string, factorId: string, accountLabel?: string) {
      const factor = await findFactor(db, accountId, factorId);
      if (!factor || factor.kind !== 'totp' || factor.confirmedAt) return null;
      const secret = box.open(factor.secretSealed!, sealContext(accountId, factorId));
      const uri = totpUri({ secret, issuer: deps.brandName, account: accountLabel ?? factor.name });
      return { factorId, secret, uri, qr: await qrDataUrl(uri) };
    },

    /** Confirms an enrolment with the first code the app shows (which is then used up). */
    async confirmTotp(accountId: string, factorId: string, code: string): Promise<'ok' | 'invalid' | 'replayed' | 'malformed' | 'unknown'> {
      const factor = await findFactor(db, accountId, factorId);
      if (!factor || factor.kind !== 'totp' || factor.confirmedAt) return 'unknown';
      return checkFactor(factor, code);
    },

    /** A code at sign-in: good for any confirmed authenticator app of the account, once. */
    async verifyTotp(accountId: string, code: string): Promise<'ok' | 'invalid' | 'replayed' | 'malformed'> {
      const factors = (await findFactorsByAccount(db, accountId)).filter((factor) => factor.kind === 'totp' && factor.confirmedAt);
      let outcome: 'invalid' | 'replayed' | 'malformed' = 'invalid';
      for (const factor of factors) {
        const result = await checkFactor(factor, code);
        if (result === 'ok') return 'ok';
        if (result === 'malformed') return 'malformed';
        if (result === 'replayed') outcome = 'replayed';
      }
      return outcome;
    },

    /** Ten new recovery codes, returned once to be shown once; every earlier code stops working. */
    async newRecoveryCodes(accountId: string): Promise<string[]> {
      const codes = newRecoveryCodes(10);
      await db.transaction((tx) => replaceRecoveryCodes(tx, accountId, codes.map((code) => hashesOf(code)[0]!)));
      return codes;
    },

    /** Uses a recovery code (once); says how many are left, so the page can suggest new ones. */
    async useRecoveryCode(accountId: string, input: string): Promise<{ ok: true; remaining: number } | { ok: false }> {
      const code = normaliseRecoveryCode(input);
      if (!code || !(await useRecoveryCode(db, accountId, hashesOf(code)))) return { ok: false };
      return { ok: true, remaining: await countUnusedRecoveryCodes(db, accountId) };
    },

    removeFactor: (accountId: string, factorId: string): Promise<boolean> => deleteFactor(db, accountId, factorId),

    /** Names a factor as its owner typed it (the account console names an app when confirming it). */
    /** Removes a factor but never the account's last one, even against a concurrent removal. */
    removeFactorKeepingOne: (accountId: string, factorId: string): Promise<'deleted' | 'last' | 'missing'> =>
      db.transaction((tx) => deleteFactorKeepingOne(tx, accountId, factorId)),

    /** Names are one line of 1-64 characters (the pages say so first); anything else changes nothing. */
    renameFactor: async (accountId: string, factorId: string, name: string): Promise<boolean> => {
      const length = Array.from(name).length;
      if (length < 1 || length > 64 || /[\p{Cc}]/u.test(name)) return false;
      return renameFactor(db, accountId, factorId, name);
    },

    /** Every factor and recovery code of the account, in one transaction; how many factors went. */
    removeAll: (accountId: string): Promise<number> => db.transaction(async (tx) => {
      await replaceRecoveryCodes(tx, accountId, []);
      return deleteAllFactors(tx, accountId);
    }),

    recoveryCodesLeft: (accountId: string): Promise<number> => countUnusedRecoveryCodes(db, accountId),
  };
}
