// nngpc as a rollup plugin: `import nngpc from 'nngpc/rollup'`, then add `nngpc()` to the plugins.
import { nngpcPlugin } from './plugin.js';

export default nngpcPlugin.rollup;
