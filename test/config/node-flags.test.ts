import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('node flags of the server', () => {
  it('are the same for npm start and the container image', () => {
    const words = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start.split(/\s+/);
    const assignments = words.slice(0, words.indexOf('node'));
    const start = words.slice(words.indexOf('node'));
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(read('Dockerfile'))![1]!) as string[];
    expect(start[0]).toBe('node');
    expect(cmd).toEqual(start);
    // The allocator settings too: the same environment in the image.
    const dockerEnv = [...read('Dockerfile').matchAll(/^ENV (\S+=\S+)$/gm)].map((match) => match[1]);
    for (const assignment of assignments) expect(dockerEnv).toContain(assignment);
    // The young generation is bounded (README, "Memory"): without it V8 lets it grow by tens of MiB under load.
    expect(start).toContain('--max-semi-space-size=8');
    // Large allocations go back to the system when freed, and at most two malloc arenas
    // (README, "Memory"): together about 60 MiB less resident on the embedded database.
    // Node's compile cache (README, "Memory"): a restart loads the type-stripped sources from it.
    expect(assignments).toEqual(['GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072:glibc.malloc.arena_max=2', 'NODE_COMPILE_CACHE=node_modules/.cache/node-compile-cache']);
  });

  it('reach the server through the bench, as npm start gives them', async () => {
    const { startCommand } = await import('../../bench/processes.ts');
    const { env, flags } = startCommand();
    expect(env).toEqual({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072:glibc.malloc.arena_max=2', NODE_COMPILE_CACHE: 'node_modules/.cache/node-compile-cache' });
    expect(flags).toEqual(['--max-semi-space-size=8']);
  });
});
