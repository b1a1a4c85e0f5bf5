import type { AdminRoute } from '../route.ts';

export const statsRoutes: AdminRoute[] = [];
