import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('node flags of the server', () => {
  it('are the same for npm start and the container image', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start.split(/\s+/);
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(read('Dockerfile'))![1]!) as string[];
    expect(start[0]).toBe('node');
    expect(cmd).toEqual(start);
    // The young generation is bounded (README, "Memory"): without it V8 lets it grow by tens of MiB under load.
    expect(start).toContain('--max-semi-space-size=8');
  });
});
