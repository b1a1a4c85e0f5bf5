import { z } from 'zod';
import { route, type AdminRoute } from '../route.ts';

export const statsRoutes: AdminRoute[] = [
  route({
    method: 'get', path: '/stats', tag: 'stats', scope: 'admin:read', summary: 'Counts of users, active sessions and clients',
    response: z.object({ users: z.number().int(), disabledUsers: z.number().int(), activeSessions: z.number().int(), clients: z.number().int() }).meta({ id: 'Stats' }),
    async handler({ deps }) {
      const [{ rows }, activeSessions] = await Promise.all([
        deps.db.query<{ users: string; disabled: string; clients: string }>(
          'SELECT (SELECT count(*) FROM accounts) AS users, (SELECT count(*) FROM accounts WHERE disabled) AS disabled, (SELECT count(*) FROM clients) AS clients',
        ),
        deps.accountState.countActiveSessions(),
      ]);
      const row = rows[0]!;
      return { users: Number(row.users), disabledUsers: Number(row.disabled), activeSessions, clients: Number(row.clients) };
    },
  }),
];
