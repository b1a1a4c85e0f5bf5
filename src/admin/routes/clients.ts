import type { AdminRoute } from '../route.ts';

export const clientsRoutes: AdminRoute[] = [];
