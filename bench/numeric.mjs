// Kernels without a closed form: nngpc's scale-mixture and bivariate-normal kernels against neural-tangents'
// ElementwiseNumerical (tensor-product Gauss-Hermite, deg 25 as it recommends), written in
// JavaScript the way it computes: nngp and its derivative from one set of 25 x 25 evaluations.
// Accuracy: the worst relative error over the truth points of fixtures/numeric-kernels.json
// (interior, near |rho| = 1, diagonal; relative, or of the Cauchy-Schwarz scale where the kernel
// crosses 0), as bits of error (log2 of error / ulp) and as a number. Cost: ns per entry of a
// 128 x 128 kernel with its NTK, median of 7 alternating runs.
import { readFileSync } from 'node:fs';
import { fromActivation } from 'nngpc';

const sig = (x) => 1 / (1 + Math.exp(-x));
const softplus = (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
/**
 * f and f' per activation of the fixture, one call giving both (written to out[0], out[1]) and
 * sharing their work, as a careful user would hand them to ElementwiseNumerical.
 */
export const FNS = {
  'tanh(x)': (x, out) => {
    const t = Math.tanh(x);
    out[0] = t;
    out[1] = 1 - t * t;
  },
  'sigmoid(x)': (x, out) => {
    const s = sig(x);
    out[0] = s;
    out[1] = s * (1 - s);
  },
  'softplus(x)': (x, out) => {
    out[0] = softplus(x);
    out[1] = sig(x);
  },
  'x*sigmoid(x)': (x, out) => {
    const s = sig(x);
    out[0] = x * s;
    out[1] = s * (1 + x * (1 - s));
  },
  'x*sigmoid(1.702*x)': (x, out) => {
    const s = sig(1.702 * x);
    out[0] = x * s;
    out[1] = s * (1 + 1.702 * x * (1 - s));
  },
  'tanh(x) + 0.25*x': (x, out) => {
    const t = Math.tanh(x);
    out[0] = t + x / 4;
    out[1] = 1.25 - t * t;
  },
  'softplus(3*x)/3 - 0.5*x': (x, out) => {
    out[0] = softplus(3 * x) / 3 - x / 2;
    out[1] = sig(3 * x) - 0.5;
  },
  'sigmoid(x) + softplus(2*x) + x*tanh(x)': (x, out) => {
    const s = sig(x);
    const t = Math.tanh(x);
    out[0] = s + softplus(2 * x) + x * t;
    out[1] = s * (1 - s) + 2 * sig(2 * x) + t + x * (1 - t * t);
  },
  'elu(x)': elu(1),
  'elu(x, 0.1)': elu(0.1),
  'selu(x)': elu(1.6732632423543772848170429916717, 1.0507009873554804934193349852946),
  'celu(x, 0.5)': (x, out) => {
    out[0] = x > 0 ? x : 0.5 * Math.expm1(x / 0.5);
    out[1] = x > 0 ? 1 : Math.exp(x / 0.5);
  },
};
function elu(alpha, scale = 1) {
  return (x, out) => {
    out[0] = scale * (x > 0 ? x : alpha * Math.expm1(x));
    out[1] = scale * (x > 0 ? 1 : alpha * Math.exp(x));
  };
}

/** Gauss-Hermite nodes and weights (weight exp(-x^2)), by Newton on the recurrence (as numpy's hermgauss). */
function hermgauss(n) {
  const x = new Float64Array(n);
  const w = new Float64Array(n);
  const m = (n + 1) >> 1;
  let z = 0;
  for (let i = 0; i < m; i++) {
    if (i === 0) z = Math.sqrt(2 * n + 1) - 1.85575 * (2 * n + 1) ** -0.16667;
    else if (i === 1) z -= (1.14 * n ** 0.426) / z;
    else if (i === 2) z = 1.86 * z - 0.86 * x[0];
    else if (i === 3) z = 1.91 * z - 0.91 * x[1];
    else z = 2 * z - x[i - 2];
    let pp = 0;
    for (let it = 0; it < 100; it++) {
      let p1 = Math.PI ** -0.25;
      let p2 = 0;
      for (let j = 1; j <= n; j++) {
        const p3 = p2;
        p2 = p1;
        p1 = z * Math.sqrt(2 / j) * p2 - Math.sqrt((j - 1) / j) * p3;
      }
      pp = Math.sqrt(2 * n) * p2;
      const dz = p1 / pp;
      z -= dz;
      if (Math.abs(dz) < 1e-15) break;
    }
    x[i] = z;
    x[n - 1 - i] = -z;
    w[i] = 2 / (pp * pp);
    w[n - 1 - i] = w[i];
  }
  return { x, w };
}

/** ElementwiseNumerical's nngp and d at (c, v1, v2): one 25 x 25 grid of f and f'. */
export function gaussHermite(fdf, deg = 25) {
  const { x, w } = hermgauss(deg);
  const o = new Float64Array(2);
  return (c, v1, v2) => {
    const s1 = Math.sqrt(2 * v1);
    const s2 = Math.sqrt(2 * v2);
    const rho = v1 > 0 && v2 > 0 ? Math.max(-1, Math.min(1, c / Math.sqrt(v1 * v2))) : 0;
    const sr = Math.sqrt(1 - rho * rho);
    let k = 0;
    let d = 0;
    for (let i = 0; i < deg; i++) {
      fdf(s1 * x[i], o);
      const a = o[0];
      const da = o[1];
      let kk = 0;
      let dd = 0;
      for (let j = 0; j < deg; j++) {
        fdf(s2 * (rho * x[i] + sr * x[j]), o);
        kk += w[j] * o[0];
        dd += w[j] * o[1];
      }
      k += w[i] * a * kk;
      d += w[i] * da * dd;
    }
    return [k / Math.PI, d / Math.PI];
  };
}

function worstError(value, points) {
  let worst = 0;
  for (const p of points)
    for (const which of [0, 1]) {
      const truth = Number(which ? p.dNngp : p.nngp);
      const at = (c, v1, v2) => value(c, v1, v2)[which];
      const scale = Math.sqrt(Math.abs(at(p.var1, p.var1, p.var1) * at(p.var2, p.var2, p.var2)));
      const got = at(p.cov12, p.var1, p.var2);
      const err = Number.isFinite(got)
        ? Math.abs(got - truth) / Math.max(Math.abs(truth), 1e-6 * scale, 1e-300)
        : Infinity;
      worst = Math.max(worst, err);
    }
  return worst;
}

function timeKernel(run, n = 128) {
  const cov = new Float64Array(n).map((_, i) => 0.5 + (2 * i) / n);
  const nngp = new Float64Array(n * n).map(
    (_, idx) => 0.6 * Math.sqrt(cov[Math.floor(idx / n)] * cov[idx % n]) * Math.cos(idx),
  );
  const ntk = new Float64Array(n * n).fill(1);
  const input = { nngp, ntk, cov1: cov };
  run(input);
  const times = [];
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    run(input);
    times.push(performance.now() - t);
  }
  return ([...times].sort((a, b) => a - b)[3] * 1e6) / (n * n);
}

export function runNumeric() {
  const truth = JSON.parse(readFileSync(new URL('../fixtures/numeric-kernels.json', import.meta.url), 'utf8'));
  const bits = (e) => (e === 0 ? 0 : Math.max(0, Math.log2(e / 2 ** -52))).toFixed(1);
  console.log(
    '\nKernels without a closed form: nngpc (scale mixture, bivariate normal CDF) vs Gauss-Hermite deg 25 (ElementwiseNumerical)',
  );
  console.log(
    '| activation | nngpc worst rel. error | bits | GH-25 worst rel. error | bits | nngpc ns/entry | GH-25 ns/entry | ratio |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const { fn, points } of truth.activations) {
    const k = fromActivation(fn);
    const gh = gaussHermite(FNS[fn]);
    const ours = (c, v1, v2) => [k.nngp(c, v1, v2), k.dNngp(c, v1, v2)];
    const eOurs = worstError(ours, points);
    const eGh = worstError(gh, points);
    const tOurs = timeKernel((input) => k.kernel(input));
    const tGh = timeKernel(({ nngp, ntk, cov1 }) => {
      const n = cov1.length;
      const outK = new Float64Array(nngp.length);
      const outT = new Float64Array(nngp.length);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const idx = i * n + j;
          const [a, b] = gh(nngp[idx], cov1[i], cov1[j]);
          outK[idx] = a;
          outT[idx] = ntk[idx] * b;
        }
      return { outK, outT };
    });
    console.log(
      `| ${fn} | ${eOurs.toExponential(1)} | ${bits(eOurs)} | ${eGh.toExponential(1)} | ${bits(eGh)} | ${tOurs.toFixed(0)} | ${tGh.toFixed(0)} | ${(tOurs / tGh).toFixed(2)}× |`,
    );
  }
}
