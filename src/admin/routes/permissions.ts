import type { AdminRoute } from '../route.ts';

export const permissionsRoutes: AdminRoute[] = [];
