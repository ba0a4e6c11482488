// The build-time plugin: `import erf from './erf.nngp'` in Vite, Rollup, esbuild or webpack
// code yields the compiled module ({ nngp, dNngp, kernel }). One unplugin serves all four.
// The emitted code is self-contained: nothing of nngpc (or TypeScript) reaches the bundle.
import { readFileSync } from 'node:fs';
import { createUnplugin } from 'unplugin';
import { compile } from './compile.js';
import { CompileError } from './errors.js';

export interface NngpcPluginOptions {
  /** Params for every .nngp file; they override the file's own `# params:` lines. */
  readonly params?: Readonly<Record<string, number>>;
  /** Which files to compile (default: ids ending in .nngp). */
  readonly include?: (id: string) => boolean;
}

const isNngp = (id: string) => /\.nngp(\?.*)?$/.test(id);

/** A bundler error carrying file, line, column and code frame (the shape Rollup and Vite print). */
function bundlerError(e: CompileError, id: string): Error {
  const err = new Error(`${e.reason}\n${e.frame}`) as Error & {
    id: string;
    loc: { file: string; line: number; column: number };
    frame: string;
    plugin: string;
  };
  err.id = id;
  // 1-based column, as editors and our own frame count (Vite prints loc as file:line:column).
  err.loc = { file: id, line: e.line, column: e.column };
  err.frame = e.frame;
  err.plugin = 'nngpc';
  return err;
}

export const nngpcPlugin = createUnplugin((options: NngpcPluginOptions | undefined) => {
  const include = options?.include ?? isNngp;
  return {
    name: 'nngpc',
    enforce: 'pre',
    loadInclude: (id) => include(id),
    load(id) {
      const file = id.replace(/\?.*$/, '');
      const source = readFileSync(file, 'utf8');
      try {
        const k = compile(source, { filename: file, params: options?.params, target: 'js' });
        // Named exports, and a default export for `import erf from './erf.nngp'`.
        return { code: `${k.code}\nexport default { nngp, dNngp, kernel };\n`, map: null };
      } catch (e) {
        if (e instanceof CompileError) throw bundlerError(e, file);
        throw e;
      }
    },
  };
});

export default nngpcPlugin;
