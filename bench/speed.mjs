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

const progress = (s) => process.stderr.write(`\r\x1b[K${s}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

/** X X^T / d for Gaussian X (n × d): the diagonal is exact (cov12 = var1 = var2 on it). */
function inputKernel(n, d = 64, seed = 1) {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-300)) * Math.cos(2 * Math.PI * rnd());
  const X = Float64Array.from({ length: n * d }, gauss);
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let acc = 0;
      for (let k = 0; k < d; k++) acc += X[i * d + k] * X[j * d + k];
      K[i * n + j] = K[j * n + i] = acc / d;
    }
  const cov = Float64Array.from({ length: n }, (_, i) => K[i * n + i]);
  return { nngp: K, cov1: cov, ntk: K.slice() };
}

/**
 * A kernel() built from scalar nngp/dNngp functions: the loop users write by hand. Each call
 * compiles a fresh copy of the loop, so V8 sees one nngp and one dNngp at its call sites
 * (monomorphic) and inlines them, as it would in a user's own code. A single shared loop
 * would see every map's functions and call them without inlining, flattering nngpc; so would
 * one cached compilation of the same source text.
 */
const LOOP = `return ({ nngp: K, ntk: T, cov1 }) => {
  const n = cov1.length;
  const outK = new Float64Array(K.length), outT = new Float64Array(K.length);
  for (let i = 0; i < n; i++) {
    const a = cov1[i];
    for (let j = 0; j < n; j++) {
      const idx = i * n + j, c = K[idx], b = cov1[j];
      outK[idx] = nngp(c, a, b);
      outT[idx] = T[idx] * dNngp(c, a, b);
    }
  }
  return { nngp: outK, ntk: outT, cov1: cov1.map((v) => nngp(v, v, v)) };
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
function loopKernel(nngp, dNngp) {
  // A distinct source text: V8 caches compiled code by source, and a cached copy would share
  // its type feedback (and so its call targets) with every other loop.
  return new Function('nngp', 'dNngp', `// copy ${++copies}\n${LOOP}`)(nngp, dNngp);
}

/**
 * A fresh copy of a hand-written function (same source, own type feedback), so that the
 * accuracy run's calls, with other maps sharing helpers, cannot slow it down here.
 */
const fresh = (f) =>
  new Function('acosRho', `// copy ${++copies}\nreturn ${f.toString()};`)(
    new Function(`// copy ${++copies}\nreturn ${acosRho.toString()};`)(),
  );

/** Alternating runs after two warm-ups: per function, the median and the best time (ms). */
function timeRuns(fns, input, runs) {
  const times = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (const f of Object.values(fns)) f(input); // warm-up
  for (const f of Object.values(fns)) f(input);
  for (let r = 0; r < runs; r++) {
    for (const [k, f] of Object.entries(fns)) {
      // alternating
      const t = performance.now();
      f(input);
      times[k].push(performance.now() - t);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, { median: median(v), best: Math.min(...v) }]));
}

export function runSpeed({ n = 2048, runs = 9 } = {}) {
  const m = Math.min(n, 1024);
  console.log(`\n# Speed: kernel() (nngp and ntk) on an n×n input kernel (X Xᵀ/d, Gaussian X), against the same map hand-written in JS
#   n = ${n}: median of ${runs} alternating runs after warm-up, end to end. Allocating and first touching the two
#   n×n outputs is part of every kernel() call and costs the same on both sides (measured below as "alloc").
#   n = ${m}: best of ${3 * runs} runs, ns per entry: the arithmetic, where the allocator reuses memory.`);
  const big = inputKernel(n);
  const mid = m === n ? big : inputKernel(m);
  const small = inputKernel(256);
  const math = create(all);
  const alloc = timeRuns({ alloc: allocOnly }, big, runs).alloc;
  console.log(
    `  alloc: two ${n}×${n} Float64Arrays written once: ${alloc.median.toFixed(1)} ms (${((alloc.median * 1e6) / (n * n)).toFixed(1)} ns per entry)`,
  );
  console.log(
    `  ${'map'.padEnd(6)} ${'nngpc ms'.padStart(9)} ${'hand ms'.padStart(9)} ${'nngpc/hand'.padStart(11)} │ ${'nngpc ns'.padStart(9)} ${'hand ns'.padStart(8)} ${'nngpc/hand'.padStart(11)} │ ${'mathjs ns'.padStart(10)} ${'nerdamer ns'.padStart(12)} ${'mathjs/nngpc'.padStart(13)}`,
  );
  for (const id of ['erf', 'relu', 'gelu']) {
    progress(`speed: ${id}`);
    const entry = catalog().find((e) => e.id === id);
    // A fresh instance (distinct source, see loopKernel): the accuracy run's calls, zeros and
    // overflow included, do not shape its type feedback, as they do not the hand-written copy's.
    const k = instantiate(
      `// copy ${++copies}\n${printModule(compile(entry.source, { params: entry.params }).ir.module, { target: 'js', form: 'body' })}`,
    );
    const hand = HAND[id];
    const fns = { nngpc: (x) => k.kernel(x), hand: loopKernel(fresh(hand.nngp), fresh(hand.dNngp)) };
    const t = timeRuns(fns, big, runs);
    const u = timeRuns(fns, mid, 3 * runs); // cheap at this size; the best of more runs is steadier
    // mathjs and nerdamer are ~100x slower: timed on a 256×256 kernel, per entry.
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
    const per = (x, nn) => (x === undefined ? 'n/a' : ((x.median * 1e6) / (nn * nn)).toFixed(0));
    const ratio = ts.mathjs === undefined ? 'n/a' : `${(ts.mathjs.median / ts.nngpc.median).toFixed(0)}×`;
    const ns = (x) => ((x.best * 1e6) / (m * m)).toFixed(1);
    console.log(
      `  ${id.padEnd(6)} ${t.nngpc.median.toFixed(1).padStart(9)} ${t.hand.median.toFixed(1).padStart(9)} ${(t.nngpc.median / t.hand.median).toFixed(2).padStart(10)}× │ ${ns(u.nngpc).padStart(9)} ${ns(u.hand).padStart(8)} ${(u.nngpc.best / u.hand.best).toFixed(2).padStart(10)}× │ ${per(ts.mathjs, 256).padStart(10)} ${per(ts.nerdamer, 256).padStart(12)} ${ratio.padStart(13)}`,
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
  } else console.log('# Memory: run with node --expose-gc to measure');
  progress('');
}
