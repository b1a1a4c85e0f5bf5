import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';

describe('admin API smoke', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => app?.close());

  it('lists users with an admin token', async () => {
    await app.deps.accounts.create({ email: 'x@example.com', password: 'x person passphrase' });
    const token = await adminToken(app);
    const result = await adminCall(app, token, 'GET', '/users');
    expect(result.status).toBe(200);
    expect(result.body.items.map((user: { email: string }) => user.email)).toEqual(['x@example.com']);
  });
});
