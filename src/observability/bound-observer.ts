import type { Histogram, LabelValues } from 'prom-client';

/** How prom-client 15 keeps one label set of a histogram (lib/histogram.js): counts per bucket, not yet cumulative. */
interface Entry {
  labels: Record<string, string | number>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

interface Internals {
  hashMap: Record<string, Entry>;
  upperBounds: number[];
}

function looksLikeInternals(value: unknown): value is Internals {
  const internals = value as Partial<Internals>;
  return typeof internals.hashMap === 'object' && internals.hashMap !== null && Array.isArray(internals.upperBounds);
}

function sameLabels(a: Record<string, string | number>, b: Record<string, string | number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => String(a[key]) === String(b[key]));
}

/**
 * `observe` for one fixed label set, at the cost of a few additions. prom-client's own
 * observe (a labelled child's too) converts, validates and hashes the labels on every call,
 * about 5 µs here; storage calls and requests are observed several times per token request and
 * dozens of times per sign-in. This adds to the histogram's entry for the label set directly,
 * so the exposition is exactly what observe() would have produced (a test compares the two).
 * Should the internals ever not look as expected (another prom-client), it falls back to the
 * labelled child; if the histogram is reset, it finds the new entry.
 */
export function boundObserver<T extends string>(histogram: Histogram<T>, labels: LabelValues<T>): (value: number) => void {
  const child = histogram.labels(labels);
  const internals: unknown = histogram;
  if (!looksLikeInternals(internals)) return (value) => child.observe(value);
  const wanted = labels as Record<string, string | number>;
  const { upperBounds } = internals;
  // The bucket keys as prom-client writes them (property names of the bounds).
  const keys = upperBounds.map(String);
  let hash = '';
  let entry: Entry | undefined;
  const locate = (): Entry | undefined => {
    for (const [key, candidate] of Object.entries(internals.hashMap)) {
      if (sameLabels(candidate.labels, wanted)) {
        hash = key;
        return candidate;
      }
    }
    return undefined;
  };
  return (value) => {
    if (entry === undefined || internals.hashMap[hash] !== entry) {
      entry = locate();
      if (entry === undefined) {
        // The first observation goes the usual way, which creates the entry.
        child.observe(value);
        entry = locate();
        return;
      }
    }
    if (!Number.isFinite(value)) {
      child.observe(value);
      return;
    }
    entry.sum += value;
    entry.count += 1;
    for (let index = 0; index < upperBounds.length; index++) {
      if (value <= upperBounds[index]!) {
        entry.bucketValues[keys[index]!]! += 1;
        return;
      }
    }
  };
}
