// The build-time plugin: `import erf from './erf.nngp'` in Vite, Rollup, esbuild or webpack
// code yields the compiled module ({ nngp, dNngp, kernel }, also as the default export). One
// unplugin serves Vite, Rollup and webpack; esbuild gets a native plugin (esbuild.ts) so its
// errors carry esbuild's own location. The emitted code is self-contained: nothing of nngpc (or
// TypeScript) reaches the bundle.
import { createUnplugin } from 'unplugin';
import { compile } from './compile.js';
import { CompileError } from './errors.js';
import { readSource, UnreadableSource } from './readsource.js';

export interface NngpcPluginOptions {
  /** Params for every .nngp file; they override the file's own `# params:` lines. */
  readonly params?: Readonly<Record<string, number>>;
  /** Which files to compile (default: ids ending in .nngp, with no query but Vite's own markers). */
  readonly include?: (id: string) => boolean;
}

/** Query keys a bundler adds by itself (Vite's `?import`, `?t=` timestamps, `?v=` versions). */
const BUNDLER_QUERY_KEYS = new Set(['import', 't', 'v']);

/**
 * An `.nngp` import the plugin compiles: `k.nngp`, but not `k.nngp?raw` or `k.nngp?url`,
 * which ask the bundler for the file's text or address.
 */
export function isNngpModule(id: string): boolean {
  const q = id.indexOf('?');
  const path = q < 0 ? id : id.slice(0, q);
  if (!path.endsWith('.nngp')) return false;
  if (q < 0) return true;
  return [...new URLSearchParams(id.slice(q + 1)).keys()].every((k) => BUNDLER_QUERY_KEYS.has(k));
}

/** The file an id names (its query removed). */
export const fileOf = (id: string): string => id.replace(/\?.*$/, '');

/** The module a bundler gets for an .nngp file, and warnings; throws CompileError or UnreadableSource. */
export function compileModule(
  file: string,
  options: NngpcPluginOptions | undefined,
): { code: string; warnings: readonly string[] } {
  const source = readSource(file);
  const k = compile(source, { filename: file, params: options?.params, target: 'js' });
  return { code: k.code, warnings: k.warnings.map((w) => w.message) };
}

/**
 * A bundler-shaped error. Rollup and Vite print `loc` and `frame` under the message, so there
 * the message is the reason alone; webpack prints only the message (and a stack if it has one),
 * so there the message carries the location and the excerpt. No stack: nothing in it is the
 * user's concern.
 */
function bundlerError(e: CompileError | UnreadableSource, file: string, framework: string | undefined) {
  const located = e instanceof CompileError;
  const printsLoc = framework !== 'webpack' && framework !== 'rspack';
  const message = !located
    ? e.message
    : printsLoc
      ? e.reason
      : `${file}:${e.line}:${e.column}: ${e.reason}\n${e.excerpt}`;
  const err = Object.assign(new Error(message), {
    id: file,
    plugin: 'nngpc',
    ...(located ? { loc: { file, line: e.line, column: e.column }, frame: e.excerpt } : {}),
  });
  err.stack = '';
  return err;
}

export const nngpcPlugin = createUnplugin((options: NngpcPluginOptions | undefined) => {
  const include = options?.include ?? isNngpModule;
  return {
    name: 'nngpc',
    enforce: 'pre',
    loadInclude: (id) => include(id),
    load(id) {
      const file = fileOf(id);
      // Watch modes (rollup -w, vite build --watch, webpack --watch) rebuild when this file changes.
      this.addWatchFile(file);
      try {
        const { code, warnings } = compileModule(file, options);
        for (const w of warnings) this.warn(w);
        return { code, map: null };
      } catch (e) {
        if (e instanceof CompileError || e instanceof UnreadableSource)
          throw bundlerError(e, file, this.getNativeBuildContext?.()?.framework);
        throw e;
      }
    },
  };
});

export default nngpcPlugin;
