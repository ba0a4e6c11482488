// Speed benchmark: kernel() on a realistic n×n kernel against hand-written JS, mathjs and
// nerdamer; compile latency; CLI cold start; memory per kernel() call. Ratios are measured
// in this process, alternating runs, medians over >= 7 runs after warm-up (and, for the
// arithmetic alone, the best run at n <= 1024).
import { spawnSync } from 'node:child_process';
import { create, all } from 'mathjs';
import nerdamer from 'nerdamer';
import 'nerdamer/Calculus.js';
import { choose, clearMemos, compile, catalog, compileActivation, instantiate, printModule } from 'nngpc';
import { acosRho, formula, HAND } from './lib/baselines.mjs';
import { inputKernel, median, timeRuns } from './lib/timing.mjs';

export { inputKernel, timeRuns };

const progress = (s) => process.stderr.write(`\r\x1b[K${s}`);
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

/**
 * A kernel() built from scalar nngp/dNngp functions: the loop users write by hand. Each call
 * compiles a fresh copy of the loop, so V8 sees one nngp and one dNngp at its call sites
 * (monomorphic) and inlines them, as it would in a user's own code. A single shared loop
 * would see every map's functions and call them without inlining, flattering nngpc; so would
 * one cached compilation of the same source text.
 */
const LOOP = `return ({ nngp: K, ntk: T, cov1 }, options) => {
  const n = cov1.length;
  const out = options && options.out;
  const outK = out ? out.nngp : new Float64Array(K.length), outT = out ? out.ntk : new Float64Array(K.length);
  for (let i = 0; i < n; i++) {
    const a = cov1[i];
    for (let j = 0; j < n; j++) {
      const idx = i * n + j, c = K[idx], b = cov1[j];
      outK[idx] = nngp(c, a, b);
      outT[idx] = T[idx] * dNngp(c, a, b);
    }
  }
  const c1 = out ? out.cov1 : new Float64Array(n);
  for (let i = 0; i < n; i++) c1[i] = nngp(cov1[i], cov1[i], cov1[i]);
  return { nngp: outK, ntk: outT, cov1: c1 };
};`;
/** The floor every kernel() pays: two fresh n×n outputs, each entry written once. */
function allocOnly({ nngp: K, ntk: T }) {
  const a = new Float64Array(K.length),
    b = new Float64Array(K.length);
  for (let i = 0; i < K.length; i++) {
    a[i] = K[i];
    b[i] = T[i];
  }
  return [a, b];
}

let copies = 0;
export function loopKernel(nngp, dNngp) {
  // A distinct source text: V8 caches compiled code by source, and a cached copy would share
  // its type feedback (and so its call targets) with every other loop.
  return new Function('nngp', 'dNngp', `// copy ${++copies}\n${LOOP}`)(nngp, dNngp);
}

/**
 * A fresh copy of a hand-written function (same source, own type feedback), so that the
 * accuracy run's calls, with other maps sharing helpers, cannot slow it down here.
 */
export const fresh = (f) =>
  new Function('acosRho', `// copy ${++copies}\nreturn ${f.toString()};`)(
    new Function(`// copy ${++copies}\nreturn ${acosRho.toString()};`)(),
  );

/** The same kernel with its off-diagonal entries strongly anti-correlated: rho in [-1, -0.9]. */
export function antiCorrelated(input, seed = 5) {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const n = input.cov1.length;
  const K = input.nngp.slice();
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      if (i !== j) K[i * n + j] = -(0.9 + 0.1 * rnd()) * Math.sqrt(input.cov1[i] * input.cov1[j]);
  return { nngp: K, cov1: input.cov1, ntk: K.slice() };
}

/** A fresh instance of a compiled module (distinct source: its own type feedback, as a user's bundle has). */
const fresh_ = (k) => instantiate(`// copy ${++copies}\n${printModule(k.ir.module, { target: 'js', form: 'body' })}`);

/** Per operation, in a loop over 2^20 varied arguments: what one Math call costs here (ns). */
function scalarFloor() {
  const xs = Float64Array.from({ length: 1 << 20 }, (_, i) => 0.1 + (i % 1000) / 1100);
  const ops = {
    'a * b + c': (x) => x * 1.0000001 + 0.5,
    'a / b': (x) => 1 / x,
    'Math.sqrt': Math.sqrt,
    'Math.exp': Math.exp,
    'Math.log': Math.log,
    'Math.atan': Math.atan,
    'Math.atan2': (x) => Math.atan2(x, 0.7),
    'Math.acos': Math.acos,
    'Math.asin': Math.asin,
  };
  const out = [];
  for (const [name, f0] of Object.entries(ops)) {
    const f = new Function(
      'f',
      `// ${++copies}\nreturn (xs) => { let s = 0; for (let i = 0; i < xs.length; i++) s += f(xs[i]); return s; };`,
    )(f0);
    f(xs);
    let best = Infinity;
    for (let r = 0; r < 7; r++) {
      const t = performance.now();
      f(xs);
      best = Math.min(best, performance.now() - t);
    }
    out.push(`${name} ${((best * 1e6) / xs.length).toFixed(1)}`);
  }
  return out.join(', ');
}

export async function runSpeed({ n = 2048, runs = 9, sizes = [n, 2 * n] } = {}) {
  const m = Math.min(n, 1024);
  const bigRuns = (size) => (size > n ? Math.max(3, Math.floor(runs / 3)) : runs);
  console.log(`\n# Speed: kernel() (nngp and ntk) per entry, against the same map hand-written in JS (neural-tangents' formulas)
#   Input X Xᵀ/d (Gaussian X, d = 64: |rho| mostly < 0.4) and the same variances with every off-diagonal entry
#   anti-correlated (rho in [-1, -0.9]). n = ${m}: the arithmetic, every side writing into
#   the same preallocated outputs ({ out }), best of ${2 * runs} alternating runs; ${sizes.map((z) => `n = ${z}: median of ${bigRuns(z)}`).join('; ')},
#   end to end (fresh outputs), a full collection before every timed run.
#   "stable": the module compiled with { interior: false } (no plain-double regime, interior.ts), on each input.`);
  console.log(`# Scalar floor, ns per call in a loop: ${scalarFloor()}`);
  const big = inputKernel(n);
  const mid = m === n ? big : inputKernel(m);
  const anti = antiCorrelated(mid);
  const outM = { nngp: new Float64Array(m * m), ntk: new Float64Array(m * m), cov1: new Float64Array(m) };
  // Per size, the realistic input and its anti-correlated twin (the same variances).
  const bySize = sizes.map((size) => {
    const real = size === n ? big : size === m ? mid : inputKernel(size);
    return { size, real, anti: size === m ? anti : antiCorrelated(real) };
  });
  for (const { size, real } of bySize) {
    const alloc = timeRuns({ alloc: allocOnly }, real, bigRuns(size), { collect: true }).alloc;
    console.log(
      `#   alloc: two ${size}×${size} Float64Arrays written once: ${alloc.median.toFixed(1)} ms (${((alloc.median * 1e6) / (size * size)).toFixed(1)} ns per entry)`,
    );
  }
  const head = (t) => t.padStart(9);
  const ratioOf = (x, y) => `${(x / y).toFixed(2)}×`;
  const rows = [];
  console.log(
    `  ${'map'.padEnd(19)} ${'regime'.padEnd(13)} │ ${head('nngpc')} ${head('hand')} ${head('ratio')} ${head('stable')} │ ${head('anti')} ${head('hand')} ${head('ratio')} ${head('stable')}`,
  );
  const ratios = { real: [], anti: [] };
  const sizeRatios = sizes.map(() => ({ real: [], anti: [] }));
  // BENCH_MAPS=relu,erf: only those maps (the whole catalog by default).
  const only = process.env.BENCH_MAPS?.split(',');
  const unknown = only?.filter((id) => !catalog().some((e) => e.id === id)) ?? [];
  if (unknown.length) throw new RangeError(`BENCH_MAPS: no catalog map ${unknown.join(', ')}`);
  for (const entry of catalog().filter((e) => !only || only.includes(e.id))) {
    progress(`speed: ${entry.id}`);
    const compiled = compile(entry.source, { params: entry.params });
    const k = fresh_(compiled);
    const s = fresh_(compile(entry.source, { params: entry.params, interior: false }));
    const hand = HAND[entry.id];
    const handLoop = loopKernel(fresh(hand.nngp), fresh(hand.dNngp));
    const fns = { nngpc: (x) => k.kernel(x), hand: handLoop };
    // At n = 1024, the arithmetic: every side writes into the same preallocated outputs.
    const inPlace = {
      nngpc: (x) => k.kernel(x, { out: outM }),
      hand: (x) => handLoop(x, { out: outM }),
    };
    // The stable code alone on both inputs: where a regime makes entries slower than no regime.
    const withStable = { ...inPlace, stable: (x) => s.kernel(x, { out: outM }) };
    const u = timeRuns(withStable, mid, 2 * runs);
    const a = timeRuns(withStable, anti, 2 * runs);
    const ns = (x, nn = m) => ((x * 1e6) / (nn * nn)).toFixed(1);
    ratios.real.push(u.nngpc.best / u.hand.best);
    ratios.anti.push(a.nngpc.best / a.hand.best);
    console.log(
      `  ${entry.id.padEnd(19)} ${compiled.ir.interior.emitted
        .replace(', exponents by cancellation', ', exp. c.')
        .replace('plain but compensated sums', 'compensated')
        .replace('plain stable to the bound, one-bit certificates', 'to bound, 1-bit')
        .replace('plain stable to the bound', 'plain to bound')
        .replace(', smallest terms first', ', ascending')
        .replace(', short of the bound', ', half')
        .replace('factored polynomial, three-bit certificates', 'factored, 3-bit')
        .replace(
          /factored polynomial, exact to degree (\w+) and (\w+)(, three-bit certificates)?/,
          (_, a, b, three) => `exact to ${a}, ${b}${three ? ', 3-bit' : ''}`,
        )
        .replace(/plain stable, (\w+)-bit certificates/, (_, b) => `plain, ${{ two: 2, three: 3 }[b]}-bit`)
        .padEnd(
          13,
        )} │ ${head(ns(u.nngpc.best))} ${head(ns(u.hand.best))} ${head(ratioOf(u.nngpc.best, u.hand.best))} ${head(ns(u.stable.best))} │ ${head(ns(a.nngpc.best))} ${head(ns(a.hand.best))} ${head(ratioOf(a.nngpc.best, a.hand.best))} ${head(ns(a.stable.best))}`,
    );
    // The larger sizes: medians, where fresh outputs' first touch is a larger share (alloc above).
    const cells = bySize.map(({ size, real, anti: anti_ }, i) => {
      progress(`speed: ${entry.id}, n = ${size}`);
      const [r, w] = [real, anti_].map((x) => timeRuns(fns, x, bigRuns(size), { collect: true }));
      sizeRatios[i].real.push(r.nngpc.median / r.hand.median);
      sizeRatios[i].anti.push(w.nngpc.median / w.hand.median);
      return [r, w]
        .map(
          (t) =>
            `${head(ns(t.nngpc.median, size))} ${head(ns(t.hand.median, size))} ${head(ratioOf(t.nngpc.median, t.hand.median))}`,
        )
        .join(' ');
    });
    rows.push(`  ${entry.id.padEnd(19)} │ ${cells.join(' │ ')}`);
  }
  const summary = (xs) =>
    `median ${median(xs).toFixed(2)}×, max ${Math.max(...xs).toFixed(2)}×, ≤ 1.0 for ${xs.filter((x) => x <= 1).length} of ${xs.length}, ≤ 1.5 for ${xs.filter((x) => x <= 1.5).length}`;
  console.log(`  nngpc/hand at n = ${m}: realistic ${summary(ratios.real)}; anti-correlated ${summary(ratios.anti)}`);
  console.log(`\n# The same by size (ns per entry, medians): realistic and anti-correlated at each n`);
  console.log(
    `  ${'map'.padEnd(19)} │ ${sizes
      .map((z) => `${head(`n=${z}`)} ${head('hand')} ${head('ratio')} ${head('anti')} ${head('hand')} ${head('ratio')}`)
      .join(' │ ')}`,
  );
  for (const row of rows) console.log(row);
  sizes.forEach((z, i) =>
    console.log(
      `  nngpc/hand at n = ${z}: realistic ${summary(sizeRatios[i].real)}; anti-correlated ${summary(sizeRatios[i].anti)}`,
    ),
  );

  progress('speed: numpy and both cores');
  // In a fresh process, as numpy runs in its own: this one's heap (the larger sizes' inputs, every
  // module compiled so far) and its garbage would be counted against nngpc alone.
  const cores = spawnSync(
    process.execPath,
    ['--expose-gc', new URL('./cores.mjs', import.meta.url).pathname, String(n), String(runs)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  process.stdout.write(cores.status === 0 ? cores.stdout : `\n# Both cores: failed (${cores.status})\n`);

  progress('speed: mathjs, nerdamer');
  console.log(`\n# Against mathjs and nerdamer (their derivative, evaluated per entry), 256×256, ns per entry`);
  const small = inputKernel(256);
  const math = create(all);
  for (const id of ['erf', 'relu', 'gelu']) {
    const entry = catalog().find((e) => e.id === id);
    const k = fresh_(compile(entry.source, { params: entry.params }));
    const f = formula(entry.source, entry.params);
    const others = { nngpc: (x) => k.kernel(x) };
    try {
      const mf = math.compile(f),
        md = math.simplify(math.derivative(f, 'cov12')).compile();
      others.mathjs = loopKernel(
        (c, a, b) => mf.evaluate({ cov12: c, var1: a, var2: b }),
        (c, a, b) => md.evaluate({ cov12: c, var1: a, var2: b }),
      );
    } catch {
      /* mathjs cannot differentiate it (atan2) */
    }
    try {
      const nf = nerdamer(f).buildFunction(['cov12', 'var1', 'var2']);
      const nd = nerdamer.diff(f, 'cov12').buildFunction(['cov12', 'var1', 'var2']);
      others.nerdamer = loopKernel(nf, nd);
    } catch {
      /* nerdamer cannot */
    }
    const ts = timeRuns(others, small, Math.max(3, Math.min(runs, 7)));
    const per = (x) => (x === undefined ? 'n/a' : ((x.median * 1e6) / (256 * 256)).toFixed(0));
    console.log(
      `  ${id.padEnd(6)} nngpc ${per(ts.nngpc)}, mathjs ${per(ts.mathjs)}, nerdamer ${per(ts.nerdamer)}${ts.mathjs ? ` (mathjs/nngpc ${(ts.mathjs.median / ts.nngpc.median).toFixed(0)}×)` : ''}`,
    );
  }

  progress('speed: compile latency');
  // Cold: every memo table emptied before each compile (a long-running process, such as a watch
  // mode, reuses them and compiles faster). The choice between the stable code and the source as
  // written (choose.ts) is timed on its own, with the points where it needed the oracle.
  const lat = [];
  const search = [];
  for (const e of catalog()) {
    const xs = [];
    const ss = [];
    for (let r = 0; r < 7; r++) {
      clearMemos();
      const t = performance.now();
      const k = compile(e.source, { params: e.params });
      xs.push(performance.now() - t);
      const t2 = performance.now();
      const c = choose(k, k.ir.written, { nngp: k.ir.nngp, dNngp: k.ir.dNngp });
      ss.push([performance.now() - t2, c.truthEvaluations]);
    }
    lat.push([e.id, median(xs)]);
    search.push([e.id, median(ss.map(([t]) => t)), ss[0][1]]);
  }
  const all_ = lat.map(([, t]) => t);
  const searchMs = search.map(([, t]) => t);
  console.log(
    `\n# Compile latency (parse → emit, in process, memos cleared), per catalog entry, median of 7: p50 ${pct(all_, 0.5).toFixed(1)} ms, p95 ${pct(all_, 0.95).toFixed(1)} ms, max ${Math.max(...all_).toFixed(1)} ms (${lat.sort((a, b) => b[1] - a[1])[0][0]})`,
  );
  console.log(
    `# of which the accuracy-driven choice: p50 ${pct(searchMs, 0.5).toFixed(1)} ms, max ${Math.max(...searchMs).toFixed(1)} ms; points that needed the 50-digit oracle: ${search.map(([id, , n]) => `${id} ${n}`).join(', ')}`,
  );

  progress('speed: CLI cold start');
  const cli = new URL('../dist/cli.js', import.meta.url).pathname;
  const file = new URL('../fixtures/examples/erf.nngp', import.meta.url).pathname;
  const cold = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    spawnSync(process.execPath, [cli, 'compile', file, '--check', '-o', '/nonexistent-nngpc-out'], {
      encoding: 'utf8',
    });
    cold.push(performance.now() - t);
  }
  console.log(
    `# CLI cold start (node dist/cli.js compile erf.nngp --check), median of 5: ${median(cold).toFixed(0)} ms`,
  );

  progress('speed: memory');
  if (typeof globalThis.gc === 'function') {
    const k = compileActivation('gelu');
    const input = inputKernel(512);
    k.kernel(input);
    const outBytes = 2 * 512 * 512 * 8 + 512 * 8;
    globalThis.gc();
    const before = process.memoryUsage();
    const keep = [];
    const calls = 10;
    for (let i = 0; i < calls; i++) keep.push(k.kernel(input));
    globalThis.gc(); // only what is still referenced (the kept outputs) remains
    const after = process.memoryUsage();
    // JS heap only: the outputs' backing stores live outside it, so what grows here is what
    // kernel() allocates besides them (per point, this must be nothing).
    const grown = (after.heapUsed - before.heapUsed) / calls;
    console.log(
      `# Memory: JS heap growth per kernel() call on 512×512, outputs kept (their ${(outBytes / 1024).toFixed(0)} KiB of buffers are outside the heap): ${(grown / 1024).toFixed(1)} KiB, i.e. ${(grown / (512 * 512)).toFixed(3)} bytes per entry`,
    );
    keep.length = 0;
    // With caller buffers (kernel(input, { out })): what one call allocates, outputs included,
    // as the median over batches of 10 calls (a batch during which a scavenge ran shows less, even
    // a negative figure; the median is that of the batches without one).
    const out = { nngp: new Float64Array(512 * 512), ntk: new Float64Array(512 * 512), cov1: new Float64Array(512) };
    for (let i = 0; i < 20; i++) k.kernel(input, { out });
    globalThis.gc();
    const batches = [];
    for (let b = 0; b < 15; b++) {
      const heap0 = process.memoryUsage();
      for (let i = 0; i < 10; i++) k.kernel(input, { out });
      const heap1 = process.memoryUsage();
      batches.push((heap1.heapUsed - heap0.heapUsed + heap1.arrayBuffers - heap0.arrayBuffers) / 10);
    }
    const perCall = median(batches);
    console.log(
      `# Memory with kernel(input, { out }) on 512×512: ${(perCall / 1024).toFixed(1)} KiB allocated per call, median of 15 batches of 10 (${(perCall / (512 * 512)).toFixed(3)} bytes per entry: no arrays, only V8's boxed doubles of calls it does not inline); peak RSS of this benchmark ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
    );
  } else console.log('# Memory: run with node --expose-gc to measure');
  progress('');
}
