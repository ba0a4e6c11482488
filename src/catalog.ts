// The activation catalog: one source file per neural-tangents closed-form layer, in
// fixtures/activations/ (format: grammar/nngp.ebnf, "Catalog files"). Every kernel here is
// produced by the compiler from those files; none is written by hand.
import { readdirSync, readFileSync } from 'node:fs';
import { compile } from './compile.js';
import { fileParams } from './sourcefile.js';
import type { CompiledKernel } from './types.js';

export interface CatalogEntry {
  /** File stem, e.g. 'leaky_relu'. */
  readonly id: string;
  /** The layer as neural-tangents names it, e.g. 'LeakyRelu(alpha) = ABRelu(alpha, 1)'. */
  readonly layer: string;
  /** The activation f(x) in plain math (variable x), where one exists. */
  readonly fn?: string;
  /** Default params. */
  readonly params: Readonly<Record<string, number>>;
  /** The file's text: the nngp map (plain math or Python def) with its directives. */
  readonly source: string;
  /** The map is only valid for var1 = var2 = 1 (Hermite). */
  readonly unitVariance: boolean;
  /** f has a jump: E[f' f'] holds a delta, so the derivative is not checked by quadrature. */
  readonly jump: boolean;
}

const DIR = new URL('../fixtures/activations/', import.meta.url);

/** Reads a catalog file's directives. */
export function parseCatalogFile(id: string, source: string): CatalogEntry {
  const directive = (name: string) => new RegExp(`^[ \\t]*#[ \\t]*${name}:[ \\t]*(.*)$`, 'm').exec(source)?.[1]?.trim();
  return {
    id,
    layer: directive('layer') ?? id,
    fn: directive('fn'),
    params: fileParams(source, `${id}.nngp`),
    source,
    unitVariance: directive('unit-variance') === 'true',
    jump: directive('jump') === 'true',
  };
}

let cache: CatalogEntry[] | undefined;
/** Every catalog entry, sorted by id. */
export function catalog(): CatalogEntry[] {
  cache ??= readdirSync(DIR)
    .filter((f) => f.endsWith('.nngp'))
    .sort()
    .map((f) => parseCatalogFile(f.replace(/\.nngp$/, ''), readFileSync(new URL(f, DIR), 'utf8')));
  return cache;
}

/** Compiles a catalog entry with params over its defaults. */
export function compileActivation(id: string, params: Record<string, number> = {}): CompiledKernel {
  const entry = catalog().find((e) => e.id === id);
  if (!entry)
    throw new RangeError(
      `no activation '${id}' in the catalog (${catalog()
        .map((e) => e.id)
        .join(', ')})`,
    );
  return compile(entry.source, { params, name: entry.layer, filename: `${id}.nngp` }); // over the file's own # params:
}

type Factory = (params?: Record<string, number>) => CompiledKernel;
const camel = (id: string) => id.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** `activations.erf({ a, b, c0 })`, `activations.relu()`, ...: compiled on first call. */
export const activations: Record<string, Factory> = new Proxy({} as Record<string, Factory>, {
  get(_, key) {
    if (typeof key !== 'string') return undefined;
    const entry = catalog().find((e) => camel(e.id) === key || e.id === key);
    return entry ? (params?: Record<string, number>) => compileActivation(entry.id, params) : undefined;
  },
  ownKeys: () => catalog().map((e) => camel(e.id)),
  getOwnPropertyDescriptor: (_, key) =>
    catalog().some((e) => camel(e.id) === key) ? { enumerable: true, configurable: true } : undefined,
});
