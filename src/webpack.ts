// nngpc as a webpack plugin: `import nngpc from 'nngpc/webpack'` (or `require('nngpc/webpack')` from a
// CommonJS config), then add `nngpc()` to the plugins.
import { nngpcPlugin, type NngpcPluginOptions } from './plugin.js';

const nngpc = (options?: NngpcPluginOptions) => nngpcPlugin.webpack(options);

export default nngpc;
// What `require('nngpc/webpack')` returns (Node's require of an ES module).
export { nngpc as 'module.exports' };
