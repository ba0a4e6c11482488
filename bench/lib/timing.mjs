// What the benchmarks share: the realistic input kernel and alternating timed runs.

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** X X^T / d for Gaussian X (n × d): the diagonal is exact (cov12 = var1 = var2 on it). */
export function inputKernel(n, d = 64, seed = 1) {
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
 * Alternating runs after two warm-ups: per function, the median and the best time (ms). With
 * `collect` (under --expose-gc), a full collection before every timed run, for functions that
 * allocate large outputs: otherwise the collection of the previous runs' outputs lands on
 * whichever function allocates when the heap fills, in a rotation that repeats (abs measured 1.98x
 * its hand loop in one process, 0.94x in another, with its code unchanged). Not for functions
 * that allocate little: a full collection can discard their optimized code, and a small input's
 * run then re-optimizes from the interpreter (erf at 256x256: 184 ns per entry against 16).
 */
export function timeRuns(fns, input, runs, { collect = false } = {}) {
  const times = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  const gc = collect && typeof globalThis.gc === 'function' ? globalThis.gc : () => {};
  for (const f of Object.values(fns)) f(input); // warm-up
  for (const f of Object.values(fns)) f(input);
  for (let r = 0; r < runs; r++) {
    for (const [k, f] of Object.entries(fns)) {
      // alternating
      gc();
      const t = performance.now();
      f(input);
      times[k].push(performance.now() - t);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, { median: median(v), best: Math.min(...v) }]));
}
