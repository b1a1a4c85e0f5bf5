import type { CliIo } from './context.ts';

/** Left-aligned columns two spaces apart; empty cells show as "-". */
export function table(headers: string[], rows: string[][]): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => cell || '-'))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells
    .map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  '))
    .join('\n');
}

/** A command's result: one JSON document with --json, otherwise the human text. */
export function emit(io: CliIo, json: boolean | undefined, data: unknown, human: string): void {
  io.stdout(`${json ? JSON.stringify(data) : human}\n`);
}

export const listOrNone = (values: string[]): string => (values.length ? values.join(', ') : 'none');
