import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import argon2 from 'argon2';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createAccountService, type AccountService } from '../../src/accounts/service.ts';
import { createRbacService, type RbacService } from '../../src/rbac/service.ts';
import { findAccountByEmail, updateAccountPasswordHash } from '../../src/accounts/repository.ts';

describe('account service', () => {
  let test: TestDatabase;
  let accounts: AccountService;
  let rbac: RbacService;

  beforeAll(async () => {
    test = await createTestDatabase();
    accounts = createAccountService(test.db);
    rbac = createRbacService(test.db);
  });
  afterAll(async () => test?.drop());

  it('creates an account with an argon2id hash (m=19456, t=2, p=1) and roles, creating missing roles', async () => {
    const created = await accounts.create({ email: '  Grace@Example.COM ', password: 'pa55word-long', name: 'Grace Hopper', roles: ['admin', 'admin', 'navy'] });
    expect(created.email).toBe('grace@example.com');
    expect(created.roles).toEqual(['admin', 'navy']);
    expect(created.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await rbac.listRoles()).map((role) => role.name)).toEqual(['admin', 'navy']);
  });

  it('treats email as unique regardless of case', async () => {
    await expect(accounts.create({ email: 'GRACE@example.com', password: 'another-pass' })).rejects.toMatchObject({ code: 'account.email_taken', status: 409 });
  });

  it('rejects invalid input with a message naming the field', async () => {
    await expect(accounts.create({ email: 'not-an-email', password: 'long-enough' })).rejects.toMatchObject({ code: 'account.invalid', message: expect.stringMatching(/^email:/) });
    await expect(accounts.create({ email: 'a@example.com', password: 'short' })).rejects.toMatchObject({ code: 'account.invalid_password', message: expect.stringMatching(/at least 8 characters/) });
    await expect(accounts.create({ email: 'c@example.com', password: 'Password1' })).rejects.toMatchObject({ code: 'account.invalid_password', message: expect.stringMatching(/common/) });
    await expect(accounts.create({ email: 'd@example.com', password: 'D@Example.com' })).rejects.toMatchObject({ code: 'account.invalid_password', message: expect.stringMatching(/email/) });
    await expect(accounts.create({ email: 'b@example.com', password: 'long-enough', roles: ['bad role!'] })).rejects.toMatchObject({ code: 'role.invalid_name' });
    expect(await accounts.findByEmail('b@example.com')).toBeNull(); // nothing half-written
  });

  it('authenticates with the right password only, case-insensitively on email', async () => {
    expect((await accounts.authenticate('grace@EXAMPLE.com', 'pa55word-long'))?.email).toBe('grace@example.com');
    expect(await accounts.authenticate('grace@example.com', 'wrong-password')).toBeNull();
    expect(await accounts.authenticate('nobody@example.com', 'pa55word-long')).toBeNull();
    expect(await accounts.authenticate('not an email', 'x')).toBeNull();
  });

  it('makes an unknown email cost about as much as a wrong password (decoy hash)', async () => {
    await accounts.authenticate('nobody@example.com', 'warm-up'); // the decoy hash is made once
    const time = async (email: string) => {
      const start = performance.now();
      await accounts.authenticate(email, 'wrong-password');
      return performance.now() - start;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time('grace@example.com'));
      unknown.push(await time(`nobody${i}@example.com`));
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[2]!;
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
    expect(median(unknown)).toBeLessThan(median(known) * 2);
  });

  it('refuses a disabled account, and accepts it again once enabled', async () => {
    await accounts.setDisabled('grace@example.com', true);
    expect(await accounts.authenticate('grace@example.com', 'pa55word-long')).toBeNull();
    const account = await accounts.findByEmail('grace@example.com');
    expect(await accounts.claims(account!.id)).toBeNull();
    await accounts.setDisabled('grace@example.com', false);
    expect(await accounts.authenticate('grace@example.com', 'pa55word-long')).not.toBeNull();
  });

  it('rehashes on login when the stored hash used older parameters', async () => {
    const account = await findAccountByEmail(test.db, 'grace@example.com');
    const weak = await argon2.hash('pa55word-long', { type: argon2.argon2id, memoryCost: 8192, timeCost: 1, parallelism: 1 });
    await updateAccountPasswordHash(test.db, account!.id, weak);
    expect(await accounts.authenticate('grace@example.com', 'pa55word-long')).not.toBeNull();
    const after = await findAccountByEmail(test.db, 'grace@example.com');
    expect(after!.passwordHash).toMatch(/m=19456,t=2,p=1/);
  });

  it('accepts a hash written by the argon2 package with today\'s parameters as it is (stores from before @node-rs/argon2)', async () => {
    const account = await findAccountByEmail(test.db, 'grace@example.com');
    const older = await argon2.hash('pa55word-long', { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(older).toMatch(/m=19456,p=1,t=2/);
    await updateAccountPasswordHash(test.db, account!.id, older);
    expect(await accounts.authenticate('grace@example.com', 'pa55word-long')).not.toBeNull();
    expect(await accounts.authenticate('grace@example.com', 'pa55word-longer')).toBeNull();
    // Same parameters, only written in another order: not rehashed.
    expect((await findAccountByEmail(test.db, 'grace@example.com'))!.passwordHash).toBe(older);
  });

  it('sets a new password and grants roles', async () => {
    await accounts.setPassword('grace@example.com', 'brand-new-password');
    expect(await accounts.authenticate('grace@example.com', 'pa55word-long')).toBeNull();
    const account = await accounts.authenticate('grace@example.com', 'brand-new-password');
    await rbac.createRole({ name: 'auditor', description: 'Reads audit logs' });
    await rbac.grantAccountRole(account!.id, 'auditor');
    await expect(rbac.grantAccountRole(account!.id, 'missing')).rejects.toMatchObject({ code: 'role.not_found', status: 404 });
    const claims = await accounts.claims(account!.id);
    expect(claims).toMatchObject({ sub: account!.id, email: 'grace@example.com', email_verified: false, name: 'Grace Hopper', roles: ['admin', 'auditor', 'navy'] });
  });

  it('returns null for a malformed or unknown account id', async () => {
    expect(await accounts.claims('not-a-uuid')).toBeNull();
    expect(await accounts.claims('00000000-0000-4000-8000-000000000000')).toBeNull();
  });
});
