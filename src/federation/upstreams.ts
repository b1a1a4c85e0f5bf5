import type { UpstreamConfig } from '../config/schema.ts';
import { createGitHubUpstream } from './github-upstream.ts';
import { createOidcUpstream } from './oidc-upstream.ts';
import type { Upstream } from './upstream.ts';

/** The configured upstreams by id, in configuration order (the order of the login buttons). */
export function createUpstreams(settings: UpstreamConfig[], options: { timeoutMs: number }): Map<string, Upstream> {
  const seconds = options.timeoutMs / 1000;
  return new Map(settings.map((entry) => [entry.id, entry.kind === 'github' ? createGitHubUpstream(entry, seconds) : createOidcUpstream(entry, seconds)]));
}
