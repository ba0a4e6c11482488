// nngpc as a esbuild plugin: `import nngpc from 'nngpc/esbuild'`, then add `nngpc()` to the plugins.
import { nngpcPlugin } from './plugin.js';

export default nngpcPlugin.esbuild;
