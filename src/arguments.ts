// Argument checks at the public boundary (compile, derive, verify, accuracy): a wrong argument
// is a TypeError or RangeError that names the function and the argument, never a failure
// somewhere inside the compiler.
import type { CompileOptions } from './types.js';

const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `'${v}'` : typeof v;

export function checkSource(fn: string, source: unknown): asserts source is string {
  if (typeof source !== 'string')
    throw new TypeError(`${fn}: source must be a string (the nngp_fn text), got ${describe(source)}`);
}

function checkOptionsObject(fn: string, options: unknown): asserts options is Record<string, unknown> | undefined {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options)))
    throw new TypeError(`${fn}: options must be an object, got ${describe(options)}`);
}

function checkString(fn: string, name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'string')
    throw new TypeError(`${fn}: ${name} must be a string, got ${describe(v)}`);
}

/** A whole number in [lo, hi], or absent. */
function checkCount(fn: string, name: string, v: unknown, lo: number, hi: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw new RangeError(
      `${fn}: ${name} must be a whole number from ${lo} to ${hi}, got ${describe(v) === 'number' ? v : describe(v)}`,
    );
}

export function checkCompileOptions(fn: string, options: unknown): asserts options is CompileOptions | undefined {
  checkOptionsObject(fn, options);
  if (options === undefined) return;
  const { params, target } = options;
  if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params)))
    throw new TypeError(
      `${fn}: options.params must be an object of numbers such as { alpha: 0.5 }, got ${describe(params)}`,
    );
  for (const [k, v] of Object.entries((params ?? {}) as Record<string, unknown>))
    if (typeof v !== 'number') throw new TypeError(`${fn}: options.params.${k} must be a number, got ${describe(v)}`);
  if (target !== undefined && target !== 'ts' && target !== 'js')
    throw new RangeError(`${fn}: options.target must be 'ts' or 'js', got ${describe(target)}`);
  for (const k of ['name', 'filename', 'dNngp']) checkString(fn, `options.${k}`, options[k]);
  const gradients = (options as { gradients?: unknown }).gradients;
  if (gradients !== undefined && (!Array.isArray(gradients) || gradients.some((g) => typeof g !== 'string')))
    throw new TypeError(
      `${fn}: options.gradients must be an array of param names such as ['alpha'], got ${describe(gradients)}`,
    );
  if (options.interior !== undefined && typeof options.interior !== 'boolean')
    throw new TypeError(`${fn}: options.interior must be true or false, got ${describe(options.interior)}`);
}

export function checkVerifyOptions(options: unknown): void {
  checkCompileOptions('verify', options);
  if (options === undefined || typeof (options as { fn?: unknown }).fn !== 'string')
    throw new TypeError(
      `verify: options.fn must be the activation f(x) as an expression in x, such as 'max(x, 0)', got ${describe((options as { fn?: unknown } | undefined)?.fn)}`,
    );
  const o = options as Record<string, unknown>;
  checkCount('verify', 'options.points', o.points, 1, 100_000);
  checkCount('verify', 'options.degree', o.degree, 2, 200);
}

export function checkAccuracyOptions(options: unknown): void {
  checkCompileOptions('accuracy', options);
  checkCount('accuracy', 'options.points', (options as Record<string, unknown> | undefined)?.points, 1, 100_000);
}
