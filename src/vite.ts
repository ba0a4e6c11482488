// nngpc as a vite plugin: `import nngpc from 'nngpc/vite'` (or `require('nngpc/vite')` from a
// CommonJS config), then add `nngpc()` to the plugins.
import { nngpcPlugin, type NngpcPluginOptions } from './plugin.js';

const nngpc = (options?: NngpcPluginOptions) => nngpcPlugin.vite(options);

export default nngpc;
// What `require('nngpc/vite')` returns (Node's require of an ES module).
export { nngpc as 'module.exports' };
