// Both cores against numpy, n × n, in a process of its own (spawned by speed.mjs, as numpy runs in
// its own): neural-tangents' formulas on whole arrays in numpy (one thread), nngpc on one thread,
// on every core (nngpc/parallel) with ordinary arrays, and with inputs and out in SharedArrayBuffers.
// Usage: node --expose-gc bench/cores.mjs N RUNS. Not a test: nothing here asserts a time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parallelKernel } from 'nngpc/parallel';
import { compile, catalog, instantiate, printModule } from 'nngpc';
import { inputKernel, timeRuns } from './lib/timing.mjs';

const progress = (s) => process.stderr.write(`\r\x1b[K${s}`);
const head = (t) => t.padStart(9);
let copies = 0;
const fresh_ = (k) => instantiate(`// cores ${++copies}\n${printModule(k.ir.module, { target: 'js', form: 'body' })}`);

/** numpy on the same input, if a python3 with numpy is here: per map, ms. */
function numpyTimes(input, n, runs) {
  const dir = mkdtempSync(join(tmpdir(), 'nngpc-bench-'));
  try {
    const file = join(dir, 'input.f64');
    const all = new Float64Array(2 * n * n + n);
    all.set(input.nngp, 0);
    all.set(input.ntk, n * n);
    all.set(input.cov1, 2 * n * n);
    writeFileSync(file, new Uint8Array(all.buffer));
    const script = new URL('./lib/numpy_baseline.py', import.meta.url).pathname;
    const r = spawnSync('python3', [script, String(n), String(runs), file], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    });
    if (r.status !== 0)
      return { why: (r.error?.message ?? r.stderr.trim().split('\n').pop() ?? 'failed').slice(0, 120) };
    return JSON.parse(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runCores(n, runs) {
  const big = inputKernel(n);
  const threads = availableParallelism();
  console.log(
    `\n# Against numpy (neural-tangents' formulas on whole arrays, one thread) and on ${threads} threads (nngpc/parallel), n = ${n}, median of ${runs} runs, ms`,
  );
  const np_ = numpyTimes(big, n, runs);
  if (np_.why) console.log(`  numpy: skipped (${np_.why}); Debian's python3-numpy is one way to get it`);
  console.log(
    `  ${'map'.padEnd(6)} ${head('numpy')} ${head('nngpc 1')} ${head(`nngpc ${threads}`)} ${head('shared')} ${head('1/numpy')} ${head(`${threads}/numpy`)} ${head('shared/np')}`,
  );
  // "shared": input and out in SharedArrayBuffers, out reused (what a layer loop on both cores does).
  const sab = (a) => {
    const s = new Float64Array(new SharedArrayBuffer(a.byteLength));
    s.set(a);
    return s;
  };
  const bigShared = { nngp: sab(big.nngp), ntk: sab(big.ntk), cov1: sab(big.cov1) };
  const outShared = { nngp: sab(big.nngp), ntk: sab(big.ntk), cov1: sab(big.cov1) };
  for (const id of ['relu', 'erf', 'gelu']) {
    const entry = catalog().find((e) => e.id === id);
    const compiled = compile(entry.source, { params: entry.params });
    const k = fresh_(compiled);
    const p = parallelKernel(compiled, { threads });
    const t = timeRuns({ one: (x) => k.kernel(x), all: (x) => p.kernel(x) }, big, runs, { collect: true });
    const u = timeRuns({ shared: (x) => p.kernel(x, { out: outShared }) }, bigShared, runs);
    await p.close();
    const npm_ = np_.maps?.[id]?.median_ms;
    const r = (x) => (npm_ === undefined ? 'n/a' : `${(x / npm_).toFixed(2)}×`);
    console.log(
      `  ${id.padEnd(6)} ${head(npm_ === undefined ? 'n/a' : npm_.toFixed(1))} ${head(t.one.median.toFixed(1))} ${head(t.all.median.toFixed(1))} ${head(u.shared.median.toFixed(1))} ${head(r(t.one.median))} ${head(r(t.all.median))} ${head(r(u.shared.median))}`,
    );
  }
  if (np_.numpy) console.log(`  (numpy ${np_.numpy})`);
  // Where threads start to pay: the default minEntries.
  {
    const entry = catalog().find((e) => e.id === 'relu');
    const compiled = compile(entry.source, { params: entry.params });
    const k = fresh_(compiled);
    const p = parallelKernel(compiled, { threads, minEntries: 0 });
    const cells = [];
    for (const size of [64, 128, 256, 512]) {
      const x = inputKernel(size);
      const t = timeRuns({ one: (y) => k.kernel(y), all: (y) => p.kernel(y) }, x, 15);
      cells.push(`${size}×${size} ${(t.all.median / t.one.median).toFixed(2)}`);
    }
    await p.close();
    console.log(
      `  relu, ${threads} threads / 1 thread by size (default minEntries 1048576 = 1024×1024): ${cells.join(', ')}`,
    );
  }
}

await runCores(Number(process.argv[2] ?? 2048), Number(process.argv[3] ?? 9));
progress('');
