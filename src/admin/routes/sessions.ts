import type { AdminRoute } from '../route.ts';

export const sessionsRoutes: AdminRoute[] = [];
