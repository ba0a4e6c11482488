// The alternatives nngpc is measured against. None of them is nngpc's code.
import { parse } from 'nngpc';

const ALIASES = {
  arcsin: 'asin',
  arccos: 'acos',
  arctan: 'atan',
  arctan2: 'atan2',
  absolute: 'abs',
  fabs: 'abs',
  minimum: 'min',
  maximum: 'max',
  power: 'pow',
  ln: 'log',
};
const PREFIXES = ['jax.scipy.special.', 'jax.numpy.', 'scipy.special.', 'numpy.', 'jnp.', 'np.', 'math.'];
const strip = (n) => {
  for (const p of PREFIXES) if (n.startsWith(p)) n = n.slice(p.length);
  return ALIASES[n] ?? n;
};

/** The surface program as a closure over an environment (inputs mapped positionally). */
function lowerSurface(source, params, evalNode) {
  const program = parse(source);
  const inputs = program.def ? program.def.params.map((p) => p.name) : ['cov12', 'var1', 'var2'];
  return (c, v1, v2, lift) => {
    const env = new Map([
      [inputs[0], lift(c, 1)],
      [inputs[1], lift(v1, 0)],
      [inputs[2], lift(v2, 0)],
    ]);
    for (const [k, v] of Object.entries(params ?? {})) env.set(k, lift(v, 0));
    for (const a of program.body) {
      const vals = a.value.type === 'tuple' ? a.value.items.map((n) => evalNode(n, env)) : [evalNode(a.value, env)];
      a.targets.forEach((t, i) => {
        let v = vals[i];
        if (a.op !== '=')
          v = evalNode(
            {
              type: 'binary',
              op: a.op[0],
              left: { type: 'ref', value: env.get(t.name) },
              right: { type: 'ref', value: v },
            },
            env,
          );
        env.set(t.name, v);
      });
    }
    return evalNode(program.result, env);
  };
}

// ---------------------------------------------------------------- forward-mode autodiff (JAX rules)

const D = (v, d) => ({ v, d });
const erf = (x) => {
  // series / continued fraction, float64
  const a = Math.abs(x);
  if (a >= 2.5) {
    let f = a;
    for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
    const e = (Math.exp(-a * a) * 0.5641895835477563) / f;
    return x > 0 ? 1 - e : e - 1;
  }
  let t = x,
    s = x;
  for (let k = 1; k < 80; k++) {
    t *= (-x * x) / k;
    s += t / (2 * k + 1);
  }
  return s * 1.1283791670955126;
};
const DUAL_FNS = {
  sqrt: (x) => {
    const v = Math.sqrt(x.v);
    return D(v, x.d * (0.5 / v));
  },
  exp: (x) => {
    const v = Math.exp(x.v);
    return D(v, x.d * v);
  },
  log: (x) => D(Math.log(x.v), x.d / x.v),
  log1p: (x) => D(Math.log1p(x.v), x.d / (1 + x.v)),
  expm1: (x) => D(Math.expm1(x.v), x.d * Math.exp(x.v)),
  sin: (x) => D(Math.sin(x.v), x.d * Math.cos(x.v)),
  cos: (x) => D(Math.cos(x.v), -x.d * Math.sin(x.v)),
  tan: (x) => {
    const v = Math.tan(x.v);
    return D(v, x.d * (1 + v * v));
  },
  asin: (x) => D(Math.asin(x.v), x.d / Math.sqrt(1 - x.v * x.v)),
  acos: (x) => D(Math.acos(x.v), -x.d / Math.sqrt(1 - x.v * x.v)),
  atan: (x) => D(Math.atan(x.v), x.d / (1 + x.v * x.v)),
  atan2: (y, x) => D(Math.atan2(y.v, x.v), (x.v * y.d - y.v * x.d) / (x.v * x.v + y.v * y.v)),
  sinh: (x) => D(Math.sinh(x.v), x.d * Math.cosh(x.v)),
  cosh: (x) => D(Math.cosh(x.v), x.d * Math.sinh(x.v)),
  tanh: (x) => {
    const v = Math.tanh(x.v);
    return D(v, x.d * (1 - v * v));
  },
  erf: (x) => D(erf(x.v), x.d * 1.1283791670955126 * Math.exp(-x.v * x.v)),
  abs: (x) => D(Math.abs(x.v), x.d * Math.sign(x.v)),
  square: (x) => D(x.v * x.v, 2 * x.v * x.d),
  sign: (x) => D(Math.sign(x.v), 0),
  min: (a, b) => (a.v < b.v ? a : b),
  max: (a, b) => (a.v > b.v ? a : b),
  clip: (x, lo, hi) => (x.v < lo.v ? lo : x.v > hi.v ? hi : x),
  where: (c, a, b) => (c.v !== 0 ? a : b), // jnp.where: a select
};
function dualNode(n, env) {
  switch (n.type) {
    case 'ref':
      return n.value;
    case 'number':
      return D(Number(n.text.replace(/_/g, '')), 0);
    case 'name': {
      if (env.has(n.name)) return env.get(n.name);
      const s = strip(n.name);
      if (s === 'pi') return D(Math.PI, 0);
      if (s === 'e') return D(Math.E, 0);
      throw new Error(`unbound ${n.name}`);
    }
    case 'unary': {
      const a = dualNode(n.arg, env);
      return n.op === '-' ? D(-a.v, -a.d) : a;
    }
    case 'binary': {
      const a = dualNode(n.left, env),
        b = dualNode(n.right, env);
      switch (n.op) {
        case '+':
          return D(a.v + b.v, a.d + b.d);
        case '-':
          return D(a.v - b.v, a.d - b.d);
        case '*':
          return D(a.v * b.v, a.d * b.v + a.v * b.d);
        case '/':
          return D(a.v / b.v, (a.d * b.v - a.v * b.d) / (b.v * b.v));
        case '<':
          return D(a.v < b.v ? 1 : 0, 0);
        case '<=':
          return D(a.v <= b.v ? 1 : 0, 0);
        case '>':
          return D(a.v > b.v ? 1 : 0, 0);
        case '>=':
          return D(a.v >= b.v ? 1 : 0, 0);
        case '==':
          return D(a.v === b.v ? 1 : 0, 0);
        case '!=':
          return D(a.v !== b.v ? 1 : 0, 0);
        case '^': {
          // JAX: integer_pow for integer literals (x**2 -> 2 x dx), pow otherwise.
          if (b.d === 0 && Number.isInteger(b.v)) return D(Math.pow(a.v, b.v), b.v * Math.pow(a.v, b.v - 1) * a.d);
          const v = Math.pow(a.v, b.v);
          return D(v, b.v * Math.pow(a.v, b.v - 1) * a.d + (b.d === 0 ? 0 : v * Math.log(a.v) * b.d));
        }
      }
      throw new Error(`op ${n.op}`);
    }
    case 'call': {
      const f = DUAL_FNS[strip(n.callee)];
      if (!f) throw new Error(`autodiff: no rule for ${n.callee}`);
      return f(...n.args.map((a) => dualNode(a, env)));
    }
  }
  throw new Error(`node ${n.type}`);
}

/** { nngp, dNngp } by forward-mode autodiff of the source as written, float64. */
export function autodiff(source, params) {
  const run = lowerSurface(source, params, dualNode);
  return { nngp: (c, a, b) => run(c, a, b, D).v, dNngp: (c, a, b) => run(c, a, b, D).d };
}

// ---------------------------------------------------------------- the source as one formula string

function textNode(n, env) {
  switch (n.type) {
    case 'ref':
      return n.value;
    case 'number':
      return `(${n.text.replace(/_/g, '')})`;
    case 'name': {
      if (env.has(n.name)) return env.get(n.name);
      const s = strip(n.name);
      return s;
    }
    case 'unary':
      return `(${n.op}${textNode(n.arg, env)})`;
    case 'binary':
      return `(${textNode(n.left, env)} ${n.op} ${textNode(n.right, env)})`;
    case 'call':
      return `${strip(n.callee)}(${n.args.map((a) => textNode(a, env)).join(', ')})`;
  }
  throw new Error(n.type);
}

/** The source with assignments inlined, in plain infix syntax over cov12, var1, var2. */
export function formula(source, params) {
  const run = lowerSurface(source, params, textNode);
  return run('cov12', 'var1', 'var2', (x) => (typeof x === 'number' ? `(${x})` : x));
}

// ---------------------------------------------------------------- hand-derived (ACTIVATIONS.md), transcribed

export const acosRho = (c, p) => Math.acos(c / Math.sqrt(p));
export const HAND = {
  identity: { nngp: (c) => c, dNngp: () => 1 },
  relu: {
    nngp: (c, a, b) => {
      const p = a * b;
      const t = acosRho(c, p);
      return (Math.sqrt(p - c * c) + (Math.PI - t) * c) / (2 * Math.PI);
    },
    dNngp: (c, a, b) => (Math.PI - acosRho(c, a * b)) / (2 * Math.PI),
  },
  abs: {
    nngp: (c, a, b) => {
      const p = a * b;
      const F = 4 / (2 * Math.PI);
      return F * Math.sqrt(p - c * c) + (1 - F * acosRho(c, p)) * c;
    },
    dNngp: (c, a, b) => 1 - (4 / (2 * Math.PI)) * acosRho(c, a * b),
  },
  erf: {
    nngp: (c, a, b) => (2 / Math.PI) * Math.asin((2 * c) / Math.sqrt((1 + 2 * a) * (1 + 2 * b))),
    dNngp: (c, a, b) => 4 / (Math.PI * Math.sqrt((1 + 2 * a) * (1 + 2 * b) - 4 * c * c)),
  },
  gelu: {
    nngp: (c, a, b) => {
      const p = a * b,
        P1 = (1 + a) * (1 + b),
        D2 = P1 - c * c,
        Dd = Math.sqrt(D2);
      return c / 4 + ((c * c + p * D2) / (P1 * Dd) + c * Math.atan2(c, Dd)) / (2 * Math.PI);
    },
    dNngp: (c, a, b) => {
      const p = a * b,
        P1 = (1 + a) * (1 + b),
        Dd = Math.sqrt(P1 - c * c);
      return 0.25 + Math.atan2(c, Dd) / (2 * Math.PI) + (c / (2 * Math.PI * Dd)) * (1 / (Dd * Dd) + (1 - p) / P1 + 1);
    },
  },
  gaussian: {
    nngp: (c, a, b) => 1 / Math.sqrt((1 + 2 * a) * (1 + 2 * b) - 4 * c * c),
    dNngp: (c, a, b) => {
      const d = Math.sqrt((1 + 2 * a) * (1 + 2 * b) - 4 * c * c);
      return (4 * c) / (d * d * d);
    },
  },
  sin: {
    nngp: (c, a, b) => (Math.exp(c - (a + b) / 2) - Math.exp(-c - (a + b) / 2)) / 2,
    dNngp: (c, a, b) => (Math.exp(c - (a + b) / 2) + Math.exp(-c - (a + b) / 2)) / 2,
  },
  exp_normalized: {
    nngp: (c, a, b) => {
      const s = Math.sqrt(a * b);
      return s * Math.exp(c / s - 1);
    },
    dNngp: (c, a, b) => Math.exp(c / Math.sqrt(a * b) - 1),
  },
  monomial3: { nngp: (c, a, b) => 6 * c ** 3 + 9 * c * a * b, dNngp: (c, a, b) => 18 * c * c + 9 * a * b },
};
HAND.monomial = HAND.monomial3; // the catalog's n = 3
HAND.rectified_monomial = HAND.relu; // the catalog's n = 1

// Each function stands alone (speed.mjs copies them by their source text): constants inline.
/** ABRelu(a, b) as neural-tangents writes it: F = (a - b)^2/(2 pi), S = (a^2 + b^2)/2 (the catalog's params). */
HAND.ab_relu = {
  nngp: (c, v1, v2) => {
    const p = v1 * v2;
    return (
      (2.25 / (2 * Math.PI)) * Math.sqrt(p - c * c) + (0.625 - (2.25 / (2 * Math.PI)) * Math.acos(c / Math.sqrt(p))) * c
    );
  },
  dNngp: (c, v1, v2) => 0.625 - (2.25 / (2 * Math.PI)) * Math.acos(c / Math.sqrt(v1 * v2)),
};
HAND.leaky_relu = {
  nngp: (c, v1, v2) => {
    const p = v1 * v2;
    return (
      (0.9801 / (2 * Math.PI)) * Math.sqrt(p - c * c) +
      (0.50005 - (0.9801 / (2 * Math.PI)) * Math.acos(c / Math.sqrt(p))) * c
    );
  },
  dNngp: (c, v1, v2) => 0.50005 - (0.9801 / (2 * Math.PI)) * Math.acos(c / Math.sqrt(v1 * v2)),
};
HAND.sign = {
  nngp: (c, a, b) => (2 / Math.PI) * Math.asin(c / Math.sqrt(a * b)),
  dNngp: (c, a, b) => 2 / (Math.PI * Math.sqrt(a * b - c * c)),
};
HAND.sigmoid_like = {
  // B2 = b^2, b = 1/2.4020563531719796
  nngp: (c, a, b, B2 = 0.17331398823491317) =>
    Math.asin((2 * B2 * c) / Math.sqrt((1 + 2 * B2 * a) * (1 + 2 * B2 * b))) / (2 * Math.PI) + 0.25,
  dNngp: (c, a, b, B2 = 0.17331398823491317) =>
    (2 * B2) / (2 * Math.PI * Math.sqrt((1 + 2 * B2 * a) * (1 + 2 * B2 * b) - 4 * B2 * B2 * c * c)),
};
HAND.rbf = {
  nngp: (c, a, b) => Math.exp(2 * c - a - b),
  dNngp: (c, a, b) => 2 * Math.exp(2 * c - a - b),
};
HAND.cos = {
  nngp: (c, a, b) => (Math.exp(c - (a + b) / 2) + Math.exp(-c - (a + b) / 2)) / 2,
  dNngp: (c, a, b) => (Math.exp(c - (a + b) / 2) - Math.exp(-c - (a + b) / 2)) / 2,
};
HAND.exp = {
  nngp: (c, a, b) => Math.exp((a + b + 2 * c) / 2),
  dNngp: (c, a, b) => Math.exp((a + b + 2 * c) / 2),
};
HAND.hermite = { nngp: (c) => c * c * c, dNngp: (c) => 3 * c * c }; // n = 3, unit variance
HAND.polynomial = {
  // k0 = 0.5, k1 = 1, k2 = -0.3, k3 = 0.2: the Isserlis moments, coefficients multiplied out
  nngp: (c, a, b) =>
    0.25 - 0.15 * (a + b) + 0.09 * (a * b + 2 * c * c) + c + 0.6 * c * (a + b) + 0.04 * (9 * a * b * c + 6 * c * c * c),
  dNngp: (c, a, b) => 0.36 * c + 1 + 0.6 * (a + b) + 0.04 * (9 * a * b + 18 * c * c),
};
HAND.gabor = {
  nngp: (c, a, b) => {
    const g = a * b - c * c,
      Dn = 2 * (a + b) + 4 * g + 1,
      Nm = a + b + 4 * g + 2 * c;
    return (Math.exp(-Nm / (2 * Dn)) * (Math.exp((2 * c) / Dn) - 1)) / (2 * Math.sqrt(Dn));
  },
  dNngp: (c, a, b) => {
    // The product rule on exp(A) * B * C, A = -Nm/(2 Dn), B = exp(2c/Dn) - 1, C = Dn^(-1/2)/2.
    const g = a * b - c * c,
      Dn = 2 * (a + b) + 4 * g + 1,
      Nm = a + b + 4 * g + 2 * c;
    const dDn = -8 * c,
      dNm = 2 - 8 * c;
    const eA = Math.exp(-Nm / (2 * Dn)),
      E2 = Math.exp((2 * c) / Dn),
      B = E2 - 1,
      C = 1 / (2 * Math.sqrt(Dn));
    const dA = -(dNm * Dn - Nm * dDn) / (2 * Dn * Dn),
      dB = (E2 * (2 * Dn - 2 * c * dDn)) / (Dn * Dn),
      dC = (-0.5 * C * dDn) / Dn;
    return eA * (dA * B * C + dB * C + B * dC);
  },
};
HAND.relu_acos = HAND.relu;
