import type { AdminRoute } from '../route.ts';

export const resourcesRoutes: AdminRoute[] = [];
