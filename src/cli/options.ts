import { InvalidArgumentError } from 'commander';

/** For repeatable options: `--role a --role b` → ['a', 'b']. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `a,b, c` → ['a', 'b', 'c']. */
export const commaList = (value: string): string[] => value.split(',').map((part) => part.trim()).filter(Boolean);

export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}
