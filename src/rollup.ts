// nngpc as a rollup plugin: `import nngpc from 'nngpc/rollup'` (or `require('nngpc/rollup')` from a
// CommonJS config), then add `nngpc()` to the plugins.
import { nngpcPlugin, type NngpcPluginOptions } from './plugin.js';

const nngpc = (options?: NngpcPluginOptions) => nngpcPlugin.rollup(options);

export default nngpc;
// What `require('nngpc/rollup')` returns (Node's require of an ES module).
export { nngpc as 'module.exports' };
