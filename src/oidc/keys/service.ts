import type { JWK } from 'jose';
import type { Config } from '../../config/schema.ts';
import type { Database, Queryable } from '../../db/database.ts';
import type { AuditLog } from '../../audit/service.ts';
import type { Clock } from '../../clock.ts';
import { AppError } from '../../errors.ts';
import { generateSigningJwk, publicJwk } from './generate.ts';
import { dueSteps, signedTokenLifetime, signingAlgorithms, type KeyRecord, type SigningAlg } from './lifecycle.ts';
import type { KeySealer } from './sealing.ts';
import {
  insertKey, listClearKeys, listKeys, listSealedKeys, lockKeys, longestResourceTokenTtl, markActive, markRemoved, markRetired, sealClearKey, tryLockKeys,
} from './repository.ts';

export interface KeySchedule {
  /** 0: no scheduled rotation. */
  rotationSeconds: number;
  prepublishSeconds: number;
}

export type SigningKeyService = ReturnType<typeof createSigningKeyService>;

/** Who changed a key, for the audit trail: an admin API caller, `cli`, or `schedule`. */
type Actor = string;

/**
 * The signing keys' lifecycle (src/oidc/keys/lifecycle.ts): operators' rotations and
 * retirements, the scheduled steps, and the keys the provider signs and publishes with. Every
 * change runs in one transaction under the key lock, so two instances (or an instance and the
 * CLI) never both act on the same state; the table's trigger tells every instance when it commits.
 */
export function createSigningKeyService(deps: {
  db: Database; sealer: KeySealer; audit: AuditLog; clock: Clock; ttl: Config['ttl']; schedule: KeySchedule;
  /** Called after an operator's change has committed (this instance follows it at once). */
  changed?: () => Promise<void> | undefined;
}) {
  const { db, sealer, audit, clock } = deps;

  /** Until when a key retired at `at` stays published. */
  async function unpublishAfter(tx: Queryable, at: Date): Promise<Date> {
    const lifetime = signedTokenLifetime(deps.ttl, await longestResourceTokenTtl(tx));
    return new Date(at.getTime() + lifetime * 1000);
  }

  // Keys are generated before the transaction that stores them (RSA takes a while, more on a
  // busy machine): on the embedded database a transaction holds the only backend meanwhile.
  type Fresh = Map<SigningAlg, JWK>;
  const generateFor = async (algs: readonly SigningAlg[]): Promise<Fresh> => new Map(await Promise.all(algs.map(async (alg) => [alg, await generateSigningJwk(alg)] as const)));

  async function insertNew(tx: Queryable, alg: SigningAlg, state: 'next' | 'active', at: Date, fresh: Fresh): Promise<KeyRecord & { jwk: JWK }> {
    const jwk = fresh.get(alg) ?? await generateSigningJwk(alg);
    fresh.delete(alg);
    const kid = jwk.kid!;
    const activateAfter = state === 'next' ? new Date(at.getTime() + deps.schedule.prepublishSeconds * 1000) : null;
    await insertKey(tx, { kid, alg, state, publicJwk: publicJwk(jwk), sealed: sealer.seal(jwk, kid), at, activateAfter });
    return { kid, alg, state, createdAt: at, activateAfter, activatedAt: state === 'active' ? at : null, retiredAt: null, unpublishAfter: null, removedAt: null, jwk };
  }

  /** `next` starts signing; the active key of its algorithm (if any) retires. */
  async function activate(tx: Queryable, keys: KeyRecord[], next: KeyRecord, at: Date, actor: Actor): Promise<void> {
    const current = keys.find((key) => key.alg === next.alg && key.state === 'active');
    // Retire first: one active key per algorithm is a unique index.
    if (current) {
      const until = await unpublishAfter(tx, at);
      await markRetired(tx, current.kid, at, until);
      await audit.record({ event: 'key.retired', details: { actor, kid: current.kid, alg: current.alg, replacedBy: next.kid, unpublishAfter: until.toISOString() } }, tx);
    }
    await markActive(tx, next.kid, at);
    await audit.record({ event: 'key.activated', details: { actor, kid: next.kid, alg: next.alg, replaces: current?.kid ?? null } }, tx);
  }

  async function remove(tx: Queryable, key: KeyRecord, at: Date, actor: Actor, reason: string): Promise<void> {
    await markRemoved(tx, key.kid, at);
    await audit.record({ event: 'key.removed', reason, details: { actor, kid: key.kid, alg: key.alg, was: key.state } }, tx);
  }

  async function publishNext(tx: Queryable, alg: SigningAlg, at: Date, actor: Actor, scheduled: boolean, fresh: Fresh): Promise<KeyRecord> {
    const next = await insertNew(tx, alg, 'next', at, fresh);
    await audit.record({ event: 'key.rotated', reason: scheduled ? 'scheduled' : 'requested', details: { actor, kid: next.kid, alg, activateAfter: next.activateAfter!.toISOString() } }, tx);
    return next;
  }

  const findKey = (keys: KeyRecord[], kid: string): KeyRecord => {
    const key = keys.find((candidate) => candidate.kid === kid && candidate.state !== 'removed');
    if (!key) throw new AppError('key.not_found', `no published signing key ${kid}; see idp keys list`);
    return key;
  };

  return {
    schedule: deps.schedule,

    /**
     * At every start, before anything signs: keys left in clear by older versions are sealed (the
     * clear column emptied), retired keys from before get their deadline, and an algorithm
     * without an active key gets one.
     */
    async ensure(): Promise<void> {
      const known = await listKeys(db);
      const fresh = await generateFor(signingAlgorithms.filter((alg) => !known.some((key) => key.alg === alg && (key.state === 'active' || key.state === 'next'))));
      await db.transaction(async (tx) => {
        await lockKeys(tx);
        for (const { kid, jwk } of await listClearKeys(tx)) {
          await sealClearKey(tx, kid, publicJwk(jwk), sealer.seal(jwk, kid));
        }
        const at = new Date(clock.now());
        const keys = await listKeys(tx);
        for (const key of keys) {
          if (key.state === 'retired' && !key.unpublishAfter) await markRetired(tx, key.kid, key.retiredAt ?? at, await unpublishAfter(tx, key.retiredAt ?? at));
        }
        for (const alg of signingAlgorithms) {
          if (keys.some((key) => key.alg === alg && key.state === 'active')) continue;
          const next = keys.find((key) => key.alg === alg && key.state === 'next');
          // A next key is published already: better it than one nobody has seen.
          if (next) await activate(tx, keys, next, at, 'startup');
          else await insertNew(tx, alg, 'active', at, fresh);
        }
      });
    },

    list: (options: { all?: boolean } = {}): Promise<KeyRecord[]> => listKeys(db, options),

    /**
     * Publishes a next key for each algorithm (all by default). It signs from the end of the
     * pre-publication time, or at once with `now`; with `now`, a next key already published
     * takes over instead of a new one.
     */
    async rotate(options: { algs?: SigningAlg[] | undefined; now?: boolean | undefined; actor: Actor }): Promise<KeyRecord[]> {
      const algs = options.algs?.length ? options.algs : [...signingAlgorithms];
      const fresh = await generateFor(algs);
      const changed = await db.transaction(async (tx) => {
        await lockKeys(tx);
        const keys = await listKeys(tx, { forUpdate: true });
        const at = new Date(clock.now());
        const kids: string[] = [];
        for (const alg of algs) {
          const pending = keys.find((key) => key.alg === alg && key.state === 'next');
          if (pending && !options.now) {
            throw new AppError('key.next_exists', `a next ${alg} key (${pending.kid}) is published already and signs from ${pending.activateAfter?.toISOString()}; rotate with now to switch to it at once`);
          }
          const next = pending ?? await publishNext(tx, alg, at, options.actor, false, fresh);
          if (options.now) await activate(tx, keys, next, at, options.actor);
          kids.push(next.kid);
        }
        return kids;
      });
      await deps.changed?.();
      const keys = await listKeys(db);
      return keys.filter((key) => changed.includes(key.kid));
    },

    /**
     * Stops a key signing or being published. A next key is withdrawn at once (it signed
     * nothing); the active key hands over to the next key of its algorithm, which must be there;
     * a retired key stays published until its tokens can have expired, or leaves at once with
     * `now` (a compromised key: what it signed stops verifying).
     */
    async retire(options: { kid: string; now?: boolean | undefined; actor: Actor }): Promise<KeyRecord> {
      await db.transaction(async (tx) => {
        await lockKeys(tx);
        const keys = await listKeys(tx, { forUpdate: true });
        const key = findKey(keys, options.kid);
        const at = new Date(clock.now());
        if (key.state === 'next') return remove(tx, key, at, options.actor, 'withdrawn');
        if (key.state === 'active') {
          const next = keys.find((candidate) => candidate.alg === key.alg && candidate.state === 'next');
          if (!next) {
            throw new AppError('key.no_replacement', `${key.kid} is the active ${key.alg} key and there is no next ${key.alg} key to take over: publish one first (idp keys rotate --alg ${key.alg}, with --now to switch at once)`);
          }
          await activate(tx, keys, next, at, options.actor);
        }
        if (options.now) await remove(tx, key, at, options.actor, 'retired_now');
      });
      await deps.changed?.();
      return (await listKeys(db, { all: true })).find((key) => key.kid === options.kid)!;
    },

    /**
     * Applies whatever the schedule says is due (lifecycle.ts dueSteps), if no one else is
     * applying steps right now; returns how many it applied. Conditions are read again under the
     * lock, so a step another instance has just applied is not applied twice.
     */
    async applyDueSteps(): Promise<number> {
      const due = dueSteps(await listKeys(db), clock.now(), deps.schedule);
      const fresh = await generateFor(due.flatMap((step) => (step.step === 'publish' ? [step.alg] : [])));
      return db.transaction(async (tx) => {
        if (!(await tryLockKeys(tx))) return 0;
        const keys = await listKeys(tx, { forUpdate: true });
        const at = new Date(clock.now());
        const steps = dueSteps(keys, at.getTime(), deps.schedule);
        for (const step of steps) {
          if (step.step === 'activate') await activate(tx, keys, step.key, at, 'schedule');
          else if (step.step === 'remove') await remove(tx, step.key, at, 'schedule', 'expired');
          else await publishNext(tx, step.alg, at, 'schedule', true, fresh);
        }
        return steps.length;
      });
    },

    /**
     * The private JWKs to build the provider with, and what they are. Active keys first (RS256
     * ahead of ES256: oidc-provider signs with the first key that fits); next and retired keys
     * carry key_ops ["verify"], so oidc-provider never selects them to sign (its keystore honours
     * key_ops) while it still publishes them and verifies with them (id_token_hint).
     */
    async loadPublished(): Promise<{ records: KeyRecord[]; jwks: JWK[] }> {
      const rows = await listSealedKeys(db);
      const rank = (record: KeyRecord) => (record.state === 'active' ? 0 : record.state === 'next' ? 1 : 2) * 10 + signingAlgorithms.indexOf(record.alg);
      const sorted = [...rows].sort((a, b) => rank(a) - rank(b));
      const jwks = sorted.map((row) => {
        const jwk = sealer.open(row.sealed, row.kid);
        return row.state === 'active' ? jwk : { ...jwk, key_ops: ['verify'] };
      });
      return { records: sorted.map(({ sealed: _sealed, ...record }) => record), jwks };
    },
  };
}
