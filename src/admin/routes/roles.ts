import type { AdminRoute } from '../route.ts';

export const rolesRoutes: AdminRoute[] = [];
