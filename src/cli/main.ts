import { run } from './run.ts';

const write = (stream: NodeJS.WriteStream) => (text: string) => void stream.write(text);

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const exitCode = await run(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  io: { stdout: write(process.stdout), stderr: write(process.stderr), stdin: readStdin },
});

// Every command closes what it opened; exiting explicitly still guarantees a stray handle
// (a socket the pool has not let go of yet) cannot keep the shell waiting. Flush first.
const flush = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
await Promise.all([flush(process.stdout), flush(process.stderr)]);
process.exit(exitCode);
