/**
 * Durations in words, in the reader's language, by the platform's CLDR data
 * (`Intl.NumberFormat` with a unit): "2 hours", "2 Stunden", "2 heures", "2 horas", "2 時間".
 */
const format = (locale: string, value: number, unit: 'second' | 'minute' | 'hour' | 'day'): string =>
  new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(value);

/** A wait, rounded up to a unit a person thinks in (rate limits, lockouts). */
export function waitDuration(locale: string, seconds: number): string {
  if (seconds < 90) return format(locale, Math.max(1, Math.ceil(seconds)), 'second');
  if (seconds < 5400) return format(locale, Math.ceil(seconds / 60), 'minute');
  return format(locale, Math.ceil(seconds / 3600), 'hour');
}

const UNITS = [['day', 86_400], ['hour', 3600], ['minute', 60]] as const;

/**
 * A link lifetime in the largest unit that states it exactly: "24 hours", "90 minutes",
 * "3 days" (days only from two on). The configuration admits only whole minutes
 * (src/config/schema.ts), so nothing is rounded.
 */
export function exactDuration(locale: string, seconds: number): string {
  const [unit, size] = UNITS.find(([name, length]) => seconds % length === 0 && (name !== 'day' || seconds >= 2 * length))!;
  return format(locale, seconds / size, unit);
}
