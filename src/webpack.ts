// nngpc as a webpack plugin: `import nngpc from 'nngpc/webpack'`, then add `nngpc()` to the plugins.
import { nngpcPlugin } from './plugin.js';

export default nngpcPlugin.webpack;
