// Real builds: a Vite build and an esbuild build of a small app that imports an .nngp file;
// the bundles are run and checked against the API.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build as viteBuild } from 'vite';
import { build as esbuild } from 'esbuild';
import { rollup } from 'rollup';
import webpack, { type Configuration, type Stats } from 'webpack';
import { createRequire } from 'node:module';
import { runInNewContext } from 'node:vm';
import nngpcRollup from 'nngpc/rollup';
import nngpcVite from 'nngpc/vite';
import nngpcEsbuild from 'nngpc/esbuild';
import { compile, fromActivation } from 'nngpc';
import { ROOT } from './helpers.js';

const APP = `import erf from './erf.nngp';
import { dNngp as leakyD } from './leaky.nngp';
import soft from './soft.nngp';
import elu from './elu.nngp';
const cov1 = new Float64Array([1, 2]);
const out = erf.kernel({ nngp: new Float64Array([1, 0.3, 0.3, 2]), ntk: new Float64Array([1, 1, 1, 1]), cov1 });
export const values = [erf.nngp(0.3, 1, 2), erf.dNngp(0.3, 1, 2), leakyD(1, 1, 1), ...out.nngp, ...out.ntk, soft.nngp(0.3, 1, 2), elu.dNngp(-0.3, 1, 2)];
`;

let dir: string;
let expected: number[];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nngpc-plugin-'));
  const erfSrc = readFileSync(join(ROOT, 'fixtures/examples/erf.nngp'), 'utf8');
  const leakySrc = readFileSync(join(ROOT, 'fixtures/examples/leaky_relu.nngp'), 'utf8');
  writeFileSync(join(dir, 'erf.nngp'), erfSrc);
  writeFileSync(join(dir, 'leaky.nngp'), leakySrc);
  writeFileSync(join(dir, 'main.js'), APP);
  // Activations alone, without a closed form: a scale mixture and a bivariate normal CDF kernel.
  writeFileSync(join(dir, 'soft.nngp'), '# fn: jax.nn.softplus(x)\n');
  writeFileSync(join(dir, 'elu.nngp'), '# fn: jax.nn.elu(x)\n');
  writeFileSync(join(dir, 'bad.js'), "import k from './bad.nngp';\nexport const v = k.nngp(1, 1, 1);\n");
  writeFileSync(join(dir, 'bad.nngp'), 'x = cov12\nx * arcsinh(var1)\n');
  const erf = compile(erfSrc);
  const out = erf.kernel({
    nngp: new Float64Array([1, 0.3, 0.3, 2]),
    ntk: new Float64Array([1, 1, 1, 1]),
    cov1: new Float64Array([1, 2]),
  });
  expected = [
    erf.nngp(0.3, 1, 2),
    erf.dNngp(0.3, 1, 2),
    compile(leakySrc).dNngp(1, 1, 1),
    ...out.nngp,
    ...out.ntk!,
    fromActivation('softplus(x)').nngp(0.3, 1, 2),
    fromActivation('elu(x)').dNngp(-0.3, 1, 2),
  ];
  // Compiling these (a scale mixture among them) took over the default 10 s on a loaded machine.
}, 120_000);

/** The bundle must not contain the TypeScript compiler (or nngpc's compiler passes). */
function expectRuntimeOnly(bundle: string): void {
  expect(bundle).not.toMatch(/createSourceFile|createProgram|typescript|ts-morph/);
  expect(bundle).not.toMatch(/differentiate|factorSum|decimal\.js/);
  expect(bundle.length).toBeLessThan(100_000); // four kernel modules; the compiler would be megabytes
}

describe('plugin', () => {
  it('Vite: builds, runs, and matches the API', async () => {
    await viteBuild({
      configFile: false,
      root: dir,
      logLevel: 'silent',
      plugins: [nngpcVite()],
      build: {
        outDir: join(dir, 'vite-out'),
        emptyOutDir: true,
        minify: false,
        lib: { entry: join(dir, 'main.js'), formats: ['es'], fileName: () => 'app.js' },
      },
    });
    const file = join(dir, 'vite-out', 'app.js');
    expectRuntimeOnly(readFileSync(file, 'utf8'));
    const mod = await import(pathToFileURL(file).href);
    expect(mod.values).toEqual(expected);
  });

  it('esbuild: builds, runs, and matches the API', async () => {
    const outfile = join(dir, 'esb-out', 'app.mjs');
    await esbuild({
      entryPoints: [join(dir, 'main.js')],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      outfile,
      logLevel: 'silent',
      plugins: [nngpcEsbuild()],
    });
    expectRuntimeOnly(readFileSync(outfile, 'utf8'));
    const mod = await import(pathToFileURL(outfile).href);
    expect(mod.values).toEqual(expected);
  });

  it('esbuild: a compile error is located in the .nngp file (esbuild location, one frame)', async () => {
    const result = await esbuild({
      entryPoints: [join(dir, 'bad.js')],
      bundle: true,
      write: false,
      logLevel: 'silent',
      plugins: [nngpcEsbuild()],
    }).then(
      () => undefined,
      (e: { errors: { text: string; location: { file: string; line: number; column: number; lineText: string } }[] }) =>
        e.errors,
    );
    expect(result).toHaveLength(1);
    expect(result![0]).toMatchObject({
      text: "unknown function 'arcsinh'; did you mean 'arcsin'?",
      location: { line: 2, column: 4, lineText: 'x * arcsinh(var1)' },
    });
    expect(result![0]!.location.file).toMatch(/bad\.nngp$/);
  });

  it('Rollup and Vite: the reason as message, the .nngp location as loc, the frame once, no stack', async () => {
    const err = await rollup({ input: join(dir, 'bad.js'), plugins: [nngpcRollup()] }).then(
      () => undefined,
      (e: Error & { loc?: unknown; frame?: string }) => e,
    );
    expect(err).toMatchObject({ loc: { file: join(dir, 'bad.nngp'), line: 2, column: 5 }, plugin: 'nngpc' });
    expect(err!.message).toContain("unknown function 'arcsinh'");
    expect(err!.message).not.toContain('^');
    expect(err!.frame).toBe('  |\n2 | x * arcsinh(var1)\n  |     ^^^^^^^');
    expect(err!.stack ?? '').not.toMatch(/\bat .*(plugin|compile|parse)/);
    const vite = viteBuild({
      configFile: false,
      root: dir,
      logLevel: 'silent',
      plugins: [nngpcVite()],
      build: { write: false, lib: { entry: join(dir, 'bad.js'), formats: ['es'], fileName: 'bad' } },
    });
    const vErr = await vite.then(
      () => undefined,
      (e: { errors?: unknown[] }) => e.errors?.[0] ?? e,
    );
    expect(vErr).toMatchObject({
      loc: { line: 2, column: 5 },
      message: expect.stringContaining("unknown function 'arcsinh'"),
    });
  });

  it('webpack (plugin from require() in a CommonJS config): builds, runs; errors carry the frame, no stack', async () => {
    const nngpcWebpack = createRequire(join(ROOT, 'package.json'))(
      'nngpc/webpack',
    ) as typeof import('nngpc/webpack').default;
    const run = (entry: string, out: string) =>
      new Promise<Stats>((resolve, reject) => {
        const config: Configuration = {
          mode: 'production',
          optimization: { minimize: false },
          context: dir,
          entry: join(dir, entry),
          output: { path: join(dir, out), filename: 'w.js', library: { name: 'app', type: 'var' } },
          plugins: [nngpcWebpack()],
        };
        webpack(config, (err, stats) => (err ? reject(err) : resolve(stats!)));
      });
    const good = await run('main.js', 'wp-out');
    expect(good.hasErrors()).toBe(false);
    const bundle = readFileSync(join(dir, 'wp-out', 'w.js'), 'utf8');
    expectRuntimeOnly(bundle);
    const sandbox: { app?: { values: number[] } } = {};
    runInNewContext(bundle, sandbox);
    expect(sandbox.app!.values).toEqual(expected);
    const bad = await run('bad.js', 'wp-bad');
    const text = bad.toString({ colors: false });
    expect(text).toContain(`${join(dir, 'bad.nngp')}:2:5: unknown function 'arcsinh'`);
    expect(text).toContain('2 | x * arcsinh(var1)\n  |     ^^^^^^^');
    expect(text).not.toMatch(/^\s+at /m);
  });

  it("Vite: `?raw` and `?url` imports of an .nngp are the bundler's, not compiled", async () => {
    writeFileSync(
      join(dir, 'raw.js'),
      "import text from './erf.nngp?raw';\nimport url from './erf.nngp?url';\nexport { text, url };\n",
    );
    await viteBuild({
      configFile: false,
      root: dir,
      logLevel: 'silent',
      plugins: [nngpcVite()],
      build: {
        outDir: join(dir, 'vite-raw'),
        emptyOutDir: true,
        lib: { entry: join(dir, 'raw.js'), formats: ['es'], fileName: () => 'raw.js' },
      },
    });
    const mod = await import(pathToFileURL(join(dir, 'vite-raw', 'raw.js')).href);
    expect(mod.text).toBe(readFileSync(join(dir, 'erf.nngp'), 'utf8'));
    expect(typeof mod.url).toBe('string');
    expect(mod.url).not.toContain('function');
  });

  it("applies plugin params over the file's own", async () => {
    const outfile = join(dir, 'esb-params', 'app.mjs');
    await esbuild({
      entryPoints: [join(dir, 'main.js')],
      bundle: true,
      format: 'esm',
      outfile,
      logLevel: 'silent',
      plugins: [nngpcEsbuild({ params: { alpha: 0.5 } })],
    });
    const mod = await import(pathToFileURL(outfile).href);
    const leaky = compile(readFileSync(join(dir, 'leaky.nngp'), 'utf8'), { params: { alpha: 0.5 } });
    expect(mod.values[2]).toBe(leaky.dNngp(1, 1, 1));
    expect(mod.values[2]).not.toBe(expected[2]);
  });
});

describe('nngpc/client types', () => {
  it('type `import erf from "./erf.nngp"` for a consumer under --strict', async () => {
    const { Project, ts } = await import('ts-morph');
    const project = new Project({
      useInMemoryFileSystem: true,
      compilerOptions: {
        strict: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        lib: ['lib.es2022.d.ts'],
      },
    });
    project.createSourceFile('/nngp.d.ts', readFileSync(join(ROOT, 'src/nngp.d.ts'), 'utf8'));
    project.createSourceFile(
      '/app.ts',
      "import erf, { dNngp } from './erf.nngp';\nconst x: number = erf.nngp(0.1, 1, 1) + dNngp(0.1, 1, 1);\nconst k = erf.kernel({ nngp: new Float64Array(1), cov1: new Float64Array(1) });\nconst y: Float64Array = k.nngp;\nexport { x, y };\n",
    );
    project.createSourceFile(
      '/bad.ts',
      "import erf from './erf.nngp';\nconst s: string = erf.nngp(0.1, 1, 1);\nexport { s };\n",
    );
    const diags = (f: string) => project.getSourceFileOrThrow(f).getPreEmitDiagnostics().length;
    expect(diags('/app.ts')).toBe(0);
    expect(diags('/bad.ts')).toBe(1);
  });
});
