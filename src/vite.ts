// nngpc as a vite plugin: `import nngpc from 'nngpc/vite'`, then add `nngpc()` to the plugins.
import { nngpcPlugin } from './plugin.js';

export default nngpcPlugin.vite;
