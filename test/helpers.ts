// Shared test helpers: reference fixtures and the bits-of-error metric.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bitsOfError as bitsOfErrorNumber } from '../src/measure.js';
import { lower } from '../src/lower.js';
import { differentiate } from '../src/differentiate.js';
import { parse } from '../src/parse.js';
import { toMath } from '../src/print.js';
import { simplify } from '../src/simplify.js';
import type { ClosedFormIR, CompiledKernel, CompileOptions } from '../src/types.js';
import { expect } from 'vitest';
import { CompileError, fromActivation } from '../src/index.js';

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
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Reference);
}

/** Bits of error (src/measure.ts) against a decimal truth string, correctly rounded by Number(). */
export function bitsOfError(out: number, truth: string): number {
  return bitsOfErrorNumber(out, Number(truth));
}

export function meanMax(xs: number[]): { mean: number; max: number } {
  return { mean: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length), max: Math.max(0, ...xs) };
}

/** Source → canonical simplified IR, and the same printed; its derivative printed. */
export const canonical = (src: string) => simplify(lower(parse(src), src));
export const simplifiedText = (src: string) => toMath(canonical(src));
export const derivativeText = (src: string) => toMath(simplify(differentiate(canonical(src))));

/** A compiled kernel's closed-form derivation, for tests that read it (a scale-mixture kernel has none). */
export function closed(k: CompiledKernel): ClosedFormIR {
  if (!('written' in k.ir)) throw new Error(`${k.name}: a scale-mixture kernel, not a closed form`);
  if ('composition' in k.ir) throw new Error(`${k.name}: a composition of two kernels, not one closed form`);
  return k.ir;
}

/** kernel() on a square input gives the scalar functions' doubles bit for bit (ntk = its T times dNngp). */
export function expectKernelMatchesScalars(
  k: Pick<CompiledKernel, 'kernel' | 'nngp' | 'dNngp'>,
  nngp: Float64Array,
  ntk: Float64Array,
  cov1: Float64Array,
): void {
  const n = cov1.length;
  const out = k.kernel({ nngp, ntk, cov1 });
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const [c, v1, v2] = [nngp[i * n + j]!, cov1[i]!, cov1[j]!];
      expect(out.nngp[i * n + j]).toBe(k.nngp(c, v1, v2));
      expect(out.ntk![i * n + j]).toBe(ntk[i * n + j]! * k.dNngp(c, v1, v2));
    }
}

/** Two spellings of an activation compile to the same kernel (nngp and d within tol at one point). */
export function expectSameKernel(a: string, b: string, tol: number): void {
  const at = [0.4, 1.2, 0.7] as const;
  const [x, y] = [fromActivation(a), fromActivation(b)];
  expect(Math.abs(x.nngp(...at) - y.nngp(...at)), `${a} vs ${b}`).toBeLessThan(tol);
  expect(Math.abs(x.dNngp(...at) - y.dNngp(...at)), `${a} vs ${b}`).toBeLessThan(tol);
}

/** fromActivation refuses fn with a CompileError whose message matches the reason. */
export function expectRefused(fn: string, reason: RegExp, options: CompileOptions = {}): void {
  let error: unknown;
  try {
    fromActivation(fn, options);
  } catch (e) {
    error = e;
  }
  expect(error, fn).toBeInstanceOf(CompileError);
  expect((error as CompileError).message, fn).toMatch(reason);
}
