// Watch modes for real: each bundler's own watcher is started on a small app that imports an
// .nngp file, the file is edited in place, saved atomically (write a temporary file, rename it
// over the original, as editors do) and edited in place again; each time the rebuilt bundle
// must run and give the new value.
import { afterEach, describe, it } from 'vitest';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build as viteBuild } from 'vite';
import { watch as rollupWatch } from 'rollup';
import { context as esbuildContext } from 'esbuild';
import webpack from 'webpack';
import nngpcVite from 'nngpc/vite';
import nngpcRollup from 'nngpc/rollup';
import nngpcEsbuild from 'nngpc/esbuild';
import nngpcWebpack from 'nngpc/webpack';

const APP = "import k from './k.nngp';\nglobalThis.result = k.nngp(0.5, 1, 1);\n";

/** A fresh app directory: main.js and k.nngp = `cov12 * 3`. */
function app(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nngpc-watch-'));
  writeFileSync(join(dir, 'main.js'), APP);
  writeFileSync(join(dir, 'k.nngp'), 'cov12 * 3\n');
  return dir;
}

/** The value the bundle computes, or undefined while it is missing or being written. */
function bundleValue(file: string): number | undefined {
  try {
    const sandbox: { result?: number } = {};
    runInNewContext(readFileSync(file, 'utf8'), sandbox);
    return sandbox.result;
  } catch {
    return undefined;
  }
}

async function until(file: string, value: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (bundleValue(file) !== value) {
    if (Date.now() > deadline) throw new Error(`${file} never computed ${value} (last: ${bundleValue(file)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Drives the edits against a started watcher writing `out`: in place, atomic, in place again. */
async function editsAreSeen(dir: string, out: string): Promise<void> {
  const k = join(dir, 'k.nngp');
  await until(out, 1.5);
  // Watchers compare modification times; let the clock move past the first build's.
  const settle = () => new Promise((r) => setTimeout(r, 300));
  await settle();
  writeFileSync(k, 'cov12 * 5\n');
  await until(out, 2.5);
  await settle();
  writeFileSync(join(dir, 'k.nngp.tmp'), 'cov12 * 7\n');
  renameSync(join(dir, 'k.nngp.tmp'), k);
  await until(out, 3.5);
  await settle();
  writeFileSync(k, 'cov12 * 9\n');
  await until(out, 4.5);
}

let stop: (() => Promise<unknown>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

describe('watch modes rebuild on .nngp edits (in place and atomic)', () => {
  it('rollup -w', async () => {
    const dir = app();
    const out = join(dir, 'out', 'r.js');
    const watcher = rollupWatch({
      input: join(dir, 'main.js'),
      output: { file: out, format: 'iife' },
      plugins: [nngpcRollup()],
      watch: { clearScreen: false },
    });
    stop = () => watcher.close();
    await editsAreSeen(dir, out);
  });

  it('vite build --watch', async () => {
    const dir = app();
    const watcher = await viteBuild({
      configFile: false,
      root: dir,
      logLevel: 'silent',
      plugins: [nngpcVite()],
      build: {
        watch: {},
        minify: false,
        outDir: join(dir, 'out'),
        lib: { entry: join(dir, 'main.js'), formats: ['iife'], name: 'app', fileName: () => 'v.js' },
      },
    });
    stop = () => (watcher as { close(): Promise<void> }).close();
    await editsAreSeen(dir, join(dir, 'out', 'v.js'));
  });

  it('esbuild ctx.watch()', async () => {
    const dir = app();
    const out = join(dir, 'out', 'e.js');
    const ctx = await esbuildContext({
      entryPoints: [join(dir, 'main.js')],
      bundle: true,
      format: 'iife',
      outfile: out,
      logLevel: 'silent',
      plugins: [nngpcEsbuild()],
    });
    await ctx.watch();
    stop = () => ctx.dispose();
    await editsAreSeen(dir, out);
  });

  it('webpack --watch', async () => {
    const dir = app();
    const compiler = webpack({
      mode: 'production',
      optimization: { minimize: false },
      context: dir,
      entry: join(dir, 'main.js'),
      output: { path: join(dir, 'out'), filename: 'w.js' },
      plugins: [nngpcWebpack()],
    });
    const watching = compiler!.watch({ aggregateTimeout: 50 }, () => {});
    stop = () => new Promise((r) => watching!.close(r));
    await editsAreSeen(dir, join(dir, 'out', 'w.js'));
  });
});
