import type { AdminRoute } from '../route.ts';
import { userRoutes } from './users.ts';
import { sessionsRoutes } from './sessions.ts';
import { rolesRoutes } from './roles.ts';
import { permissionsRoutes } from './permissions.ts';
import { clientsRoutes } from './clients.ts';
import { resourcesRoutes } from './resources.ts';
import { statsRoutes } from './stats.ts';
import { keysRoutes } from './keys.ts';
import { webhooksRoutes } from './webhooks.ts';
import { auditRoutes } from './audit.ts';

/** Every admin API operation; the OpenAPI document lists exactly these. */
export const adminRoutes: AdminRoute[] = [
  ...userRoutes,
  ...sessionsRoutes,
  ...rolesRoutes,
  ...permissionsRoutes,
  ...clientsRoutes,
  ...resourcesRoutes,
  ...statsRoutes,
  ...keysRoutes,
  ...webhooksRoutes,
  ...auditRoutes,
];
