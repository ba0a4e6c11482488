// nngpc as an esbuild plugin: `import nngpc from 'nngpc/esbuild'` (or `require('nngpc/esbuild')`),
// then add `nngpc()` to the plugins.
// Native rather than through unplugin, so that a compile error is an esbuild message whose
// location is the .nngp file's line and column (esbuild's own frame), not the importing line.
import type { Message, Plugin } from 'esbuild';
import { CompileError } from './errors.js';
import { UnreadableSource } from './readsource.js';
import { compileModule, fileOf, isNngpModule, type NngpcPluginOptions } from './plugin.js';

function esbuildMessage(e: CompileError | UnreadableSource, file: string): Partial<Message> {
  if (!(e instanceof CompileError)) return { text: e.message };
  // esbuild counts lines from 1 and columns from 0 (and clips long lines itself).
  const location = { file, line: e.line, column: e.column - 1, length: e.length, lineText: e.window.line };
  return { text: e.reason, location: { ...location, namespace: 'file', suggestion: '' } };
}

export default nngpc;
// What `require('nngpc/esbuild')` returns (Node's require of an ES module).
export { nngpc as 'module.exports' };

function nngpc(options?: NngpcPluginOptions): Plugin {
  const include = options?.include ?? isNngpModule;
  return {
    name: 'nngpc',
    setup(build) {
      build.onLoad({ filter: /\.nngp$/ }, (args) => {
        const id = args.path + (args.suffix ?? '');
        if (!include(id)) return undefined;
        const file = fileOf(args.path);
        try {
          const { code, warnings } = compileModule(file, options);
          return { contents: code, loader: 'js', watchFiles: [file], warnings: warnings.map((text) => ({ text })) };
        } catch (e) {
          if (e instanceof CompileError || e instanceof UnreadableSource)
            return { errors: [esbuildMessage(e, file)], watchFiles: [file] };
          throw e;
        }
      });
    },
  };
}
