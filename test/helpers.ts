// Shared test helpers: reference fixtures and the bits-of-error metric.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');

export interface Reference {
  name: string;
  py: string | null;
  math: string | null;
  params: Record<string, number>;
  rows: [group: string, cov12: string, var1: string, var2: string, nngp: string | null, dNngp: string | null][];
}

export function references(): Reference[] {
  const dir = join(ROOT, 'fixtures', 'reference');
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Reference);
}

/** Position of a double on the number line of doubles (monotone, adjacent doubles differ by 1). */
function ordinal(x: number): bigint {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x);
  const i = b.getBigInt64(0);
  return i < 0n ? -(i & 0x7fffffffffffffffn) : i;
}

/**
 * Bits of error as Herbie measures it: log2(1 + number of doubles strictly between the
 * output and the correctly rounded truth, plus one); 64 for a non-finite output.
 */
export function bitsOfError(out: number, truth: string): number {
  if (!Number.isFinite(out)) return 64;
  const t = Number(truth); // correctly rounded
  const d = ordinal(out) - ordinal(t);
  const n = d < 0n ? -d : d;
  return n === 0n ? 0 : Math.log2(1 + Number(n));
}

export function meanMax(xs: number[]): { mean: number; max: number } {
  return { mean: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length), max: Math.max(0, ...xs) };
}
