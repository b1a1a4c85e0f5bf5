import type { Configuration } from 'oidc-provider';
import type { Pages } from '../pages/render.ts';

// Placeholder until the device pages land: oidc-provider's own sources.
export function deviceFlowFeature(_pages: Pages): NonNullable<NonNullable<Configuration['features']>['deviceFlow']> {
  return { enabled: true };
}
