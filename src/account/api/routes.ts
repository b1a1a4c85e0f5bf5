import { z } from 'zod';
import { accountRoute, type AccountApiRoute } from './route.ts';
import { activityRoutes } from './routes-activity.ts';
import { sensitiveRoutes } from './routes-sensitive.ts';

/*
 * The account API's operations. Each area of the console adds its operations here, calling the
 * same service its pages call, so a page and its JSON twin cannot disagree.
 */

const profileSchema = z.object({
  id: z.string().meta({ description: 'the account id, which is `sub` in ID tokens' }),
  email: z.string(),
  emailVerified: z.boolean(),
  name: z.string().nullable(),
  givenName: z.string().nullable(),
  familyName: z.string().nullable(),
  picture: z.string().nullable(),
  locale: z.string().nullable(),
  hasPassword: z.boolean(),
  createdAt: z.string(),
}).meta({ id: 'Profile' });

const factorSchema = z.object({
  id: z.string(),
  kind: z.enum(['totp', 'webauthn']),
  name: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  backedUp: z.boolean().nullable(),
}).meta({ id: 'SecondFactor' });

export const accountApiRoutes: AccountApiRoute[] = [
  accountRoute({
    method: 'get', path: '/profile', tag: 'profile', scope: 'account:read', summary: 'Your profile',
    response: profileSchema,
    handler: async ({ caller }) => {
      const { account } = caller;
      return {
        id: account.id, email: account.email, emailVerified: account.emailVerified, name: account.name, givenName: account.givenName,
        familyName: account.familyName, picture: account.picture, locale: account.locale, hasPassword: account.passwordHash !== null,
        createdAt: account.createdAt.toISOString(),
      };
    },
  }),
  accountRoute({
    method: 'get', path: '/security', tag: 'security', scope: 'account:read', summary: 'Your second factors (never their secrets) and recovery codes left',
    response: z.object({ factors: z.array(factorSchema), recoveryCodesLeft: z.number().int() }).meta({ id: 'Security' }),
    handler: async ({ caller, deps }) => {
      const factors = (await deps.mfa.listFactors(caller.account.id)).filter((factor) => factor.confirmed);
      return {
        factors: factors.map((factor) => ({
          id: factor.id, kind: factor.kind, name: factor.name, createdAt: factor.createdAt.toISOString(), lastUsedAt: factor.lastUsedAt?.toISOString() ?? null, backedUp: factor.backedUp ?? null,
        })),
        recoveryCodesLeft: await deps.mfa.recoveryCodesLeft(caller.account.id),
      };
    },
  }),
  ...activityRoutes,
  ...sensitiveRoutes,
];
