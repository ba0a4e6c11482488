// A seeded paraphrase generator: it rewrites an nngp source into an equivalent one, the way
// users write the same kernel differently, by families (FAMILIES below):
//   temporaries, tuple and augmented assignment, renamed def parameters, reciprocals,
//   0.5 vs 1/2, np.pi / math.pi / jnp.pi, factored vs expanded, one vs two square roots,
//   sqrt as a power, arccos / arcsin / arctan / arctan2 interchanges (half angles and their tangents too), sin and cos of theta
//   (sqrt(1 - u^2) also as sqrt(1 - u)*sqrt(1 + u)), pi as its double 3.141592653589793,
//   guards (clip, where, maximum/minimum, abs, floors), sinh/cosh for sums of exponentials,
//   expm1 for differences of exponentials, a factor moved into an exponential as a log.
// Every rewrite is an identity wherever the source is defined, except the floor 1e-30 under a
// square root, which the guard rule reads as a domain guard.
import { lookupFunction, stripPrefix } from '../src/functions.js';
import { rng } from '../src/measure.js';
import { parse } from '../src/parse.js';
import * as Q from '../src/rational.js';
import type { Node } from '../src/types.js';

/** A surface expression, free of source locations. */
export type T =
  | { readonly k: 'num'; readonly v: string }
  | { readonly k: 'name'; readonly n: string }
  | { readonly k: 'neg'; readonly a: T }
  | { readonly k: 'bin'; readonly op: string; readonly a: T; readonly b: T }
  | { readonly k: 'call'; readonly f: string; readonly args: readonly T[] };

export const FAMILIES = [
  'temporaries',
  'tuple',
  'augmented',
  'rename',
  'reciprocal',
  'numbers',
  'pi',
  'distribute',
  'roots',
  'power',
  'inverse-trig',
  'theta',
  'guards',
  'hyperbolic',
  'expm1',
  'log-form',
] as const;
export type Family = (typeof FAMILIES)[number];

const num = (v: string | number): T => ({ k: 'num', v: String(v) });
const name = (n: string): T => ({ k: 'name', n });
const neg = (a: T): T => ({ k: 'neg', a });
const bin = (op: string, a: T, b: T): T => ({ k: 'bin', op, a, b });
const call = (f: string, ...args: T[]): T => ({ k: 'call', f, args });
const PI = name('pi');
const halfPi = () => bin('/', PI, num(2));
const sqrt = (x: T) => call('sqrt', x);
const oneMinusSq = (u: T) => bin('-', num(1), bin('^', u, num(2)));

/** A structural key of a surface expression. */
export function keyOf(t: T): string {
  switch (t.k) {
    case 'num':
      return t.v;
    case 'name':
      return t.n;
    case 'neg':
      return `-(${keyOf(t.a)})`;
    case 'bin':
      return `(${keyOf(t.a)}${t.op}${keyOf(t.b)})`;
    case 'call':
      return `${t.f}(${t.args.map(keyOf).join(',')})`;
  }
}

function size(t: T): number {
  switch (t.k) {
    case 'num':
    case 'name':
      return 1;
    case 'neg':
      return 1 + size(t.a);
    case 'bin':
      return 1 + size(t.a) + size(t.b);
    case 'call':
      return 1 + t.args.reduce((n, a) => n + size(a), 0);
  }
}

// ---------------------------------------------------------------- source → one expression

/** The program's result with every assignment inlined, params substituted, constants folded. */
export function inline(source: string, params: Readonly<Record<string, number>>): T {
  const program = parse(source);
  const env = new Map<string, T>();
  const inputs = ['cov12', 'var1', 'var2'];
  program.def?.params.forEach((p, i) => env.set(p.name, name(inputs[i]!)));
  const conv = (n: Node): T => {
    switch (n.type) {
      case 'number':
        return num(n.text.replace(/_/g, ''));
      case 'name': {
        const local = env.get(n.name);
        if (local) return local;
        const bare = stripPrefix(n.name);
        if (Object.prototype.hasOwnProperty.call(params, bare)) {
          const v = params[bare]!;
          return v < 0 ? neg(num(-v)) : num(v);
        }
        return name(bare);
      }
      case 'unary':
        return n.op === '-' ? neg(conv(n.arg)) : conv(n.arg);
      case 'binary':
        return bin(n.op, conv(n.left), conv(n.right));
      case 'call': {
        const info = lookupFunction(stripPrefix(n.callee));
        return call(info ? info.name : stripPrefix(n.callee), ...n.args.map(conv));
      }
      case 'tuple':
        throw new Error('tuple outside an assignment');
    }
  };
  for (const s of program.body) {
    if ('def' in s) throw new Error('a local lambda: not among the catalog sources this reads');
    const values = s.value.type === 'tuple' ? s.value.items.map(conv) : [conv(s.value)];
    s.targets.forEach((t, i) => {
      let v = values[i]!;
      if (s.op !== '=') v = bin(s.op[0]!, env.get(t.name)!, v);
      env.set(t.name, v);
    });
  }
  return fold(conv(program.result));
}

const ratOf = (t: T) => (t.k === 'num' ? Q.fromDecimal(t.v) : undefined);
function ratText(r: ReturnType<typeof Q.rat>): T {
  const n = Q.toString(r);
  if (r.d === 1n) return r.n < 0n ? neg(num((-r.n).toString())) : num(n);
  const body = bin('/', num((r.n < 0n ? -r.n : r.n).toString()), num(r.d.toString()));
  return r.n < 0n ? neg(body) : body;
}

/** Folds arithmetic on number literals exactly, and x*1, 1*x, x/1, x + 0, cos(0), sin(0), exp(0). */
function fold(t: T): T {
  switch (t.k) {
    case 'num':
    case 'name':
      return t;
    case 'neg': {
      const a = fold(t.a);
      const r = ratOf(a);
      return r ? ratText(Q.neg(r)) : neg(a);
    }
    case 'call': {
      const args = t.args.map(fold);
      if (
        args.length === 1 &&
        args[0]!.k === 'num' &&
        Q.isZero(ratOf(args[0]!)!) &&
        ['cos', 'sin', 'exp'].includes(t.f)
      )
        return num(t.f === 'sin' ? 0 : 1);
      return call(t.f, ...args);
    }
    case 'bin': {
      const a = fold(t.a);
      const b = fold(t.b);
      const ra = a.k === 'num' ? ratOf(a) : a.k === 'neg' && a.a.k === 'num' ? Q.neg(ratOf(a.a)!) : undefined;
      const rb = b.k === 'num' ? ratOf(b) : b.k === 'neg' && b.a.k === 'num' ? Q.neg(ratOf(b.a)!) : undefined;
      if (ra && rb && ['+', '-', '*', '/'].includes(t.op) && !(t.op === '/' && Q.isZero(rb))) {
        const r =
          t.op === '+' ? Q.add(ra, rb) : t.op === '-' ? Q.sub(ra, rb) : t.op === '*' ? Q.mul(ra, rb) : Q.div(ra, rb);
        return ratText(r);
      }
      if (t.op === '*' && ra && Q.isOne(ra)) return b;
      if ((t.op === '*' || t.op === '/') && rb && Q.isOne(rb)) return a;
      if ((t.op === '+' || t.op === '-') && rb && Q.isZero(rb)) return a;
      return bin(t.op, a, b);
    }
  }
}

// ---------------------------------------------------------------- rewrites

type Rand = () => number;
const pick = <X>(r: Rand, xs: readonly X[]): X => xs[Math.floor(r() * xs.length)]!;

/** Subexpressions known ≥ 0 wherever the source is defined: the variances and their products. */
function isVariance(t: T): boolean {
  return (
    (t.k === 'name' && (t.n === 'var1' || t.n === 'var2')) ||
    (t.k === 'bin' && t.op === '*' && isVariance(t.a) && isVariance(t.b))
  );
}
const mentionsCov = (t: T): boolean => keyOf(t).includes('cov12');
/** 1 + k*var with k a positive literal (a normalisation factor), or a variance. */
function isPositiveSum(t: T): boolean {
  if (isVariance(t)) return true;
  if (t.k !== 'bin' || t.op !== '+') return false;
  const positive = (x: T): boolean =>
    x.k === 'num' ||
    isVariance(x) ||
    (x.k === 'bin' && (x.op === '*' || x.op === '/' || x.op === '^') && positive(x.a) && positive(x.b));
  return positive(t.a) && positive(t.b) && !mentionsCov(t);
}

/** One bottom-up pass of a family's local rewrite, each match taken with probability p. */
function local(t: T, r: Rand, p: number, f: (t: T) => T | undefined): T {
  const rec = (t: T): T => {
    let out: T;
    switch (t.k) {
      case 'num':
      case 'name':
        out = t;
        break;
      case 'neg':
        out = neg(rec(t.a));
        break;
      case 'bin':
        out = bin(t.op, rec(t.a), rec(t.b));
        break;
      case 'call':
        out = call(t.f, ...t.args.map(rec));
        break;
    }
    if (r() >= p) return out;
    return f(out) ?? out;
  };
  return rec(t);
}

const LOCAL: Partial<Record<Family, (t: T, r: Rand) => T | undefined>> = {
  reciprocal: (t, r) =>
    t.k === 'bin' && t.op === '/'
      ? r() < 0.5
        ? bin('*', t.a, bin('/', num(1), t.b))
        : bin('*', t.a, bin('^', t.b, neg(num(1))))
      : undefined,
  numbers: (t, r) => {
    if (t.k === 'num') {
      const v = Q.fromDecimal(t.v);
      if (Q.isInt(v)) return r() < 0.5 ? num(`${t.v}.0`) : undefined;
      if (v.d <= 64n) return bin('/', num(v.n.toString()), num(v.d.toString()));
      return undefined;
    }
    if (t.k === 'bin' && t.op === '/' && t.a.k === 'num' && t.b.k === 'num') {
      const v = Q.div(Q.fromDecimal(t.a.v), Q.fromDecimal(t.b.v));
      const x = Q.toNumber(v);
      return Q.eq(Q.fromDecimal(String(x)), v) ? num(String(x)) : undefined;
    }
    return undefined;
  },
  distribute: (t) => {
    // (a ± b)^2 = a^2 ± 2ab + b^2
    if (
      t.k === 'bin' &&
      t.op === '^' &&
      t.b.k === 'num' &&
      t.b.v === '2' &&
      t.a.k === 'bin' &&
      (t.a.op === '+' || t.a.op === '-')
    ) {
      const [a, b] = [t.a.a, t.a.b];
      return bin('+', bin(t.a.op, bin('^', a, num(2)), bin('*', bin('*', num(2), a), b)), bin('^', b, num(2)));
    }
    if (t.k !== 'bin' || t.op !== '*') return undefined;
    const [s, o] =
      t.b.k === 'bin' && (t.b.op === '+' || t.b.op === '-')
        ? [t.b, t.a]
        : t.a.k === 'bin' && (t.a.op === '+' || t.a.op === '-')
          ? [t.a, t.b]
          : [undefined, undefined];
    if (!s || s.k !== 'bin' || !o) return undefined;
    return bin(s.op, bin('*', o, s.a), bin('*', o, s.b));
  },
  // sqrt(x*y) = sqrt(x)*sqrt(y) for variances and for sums of them with positive coefficients.
  roots: (t) =>
    t.k === 'call' &&
    t.f === 'sqrt' &&
    t.args[0]!.k === 'bin' &&
    t.args[0]!.op === '*' &&
    (isVariance(t.args[0]!) || (isPositiveSum(t.args[0]!.a) && isPositiveSum(t.args[0]!.b)))
      ? bin('*', sqrt(t.args[0]!.a), sqrt(t.args[0]!.b))
      : undefined,
  // exp(a) - exp(b) = exp(b)*expm1(a - b)
  expm1: (t) =>
    t.k === 'bin' && t.op === '-' && t.a.k === 'call' && t.a.f === 'exp' && t.b.k === 'call' && t.b.f === 'exp'
      ? bin('*', t.b, call('expm1', bin('-', t.a.args[0]!, t.b.args[0]!)))
      : undefined,
  // s * exp(y) = exp(y + log(s)) for a positive factor s (a square root of variances)
  'log-form': (t) => {
    if (t.k !== 'bin' || t.op !== '*') return undefined;
    const [s, x] =
      t.b.k === 'call' && t.b.f === 'exp'
        ? [t.a, t.b]
        : t.a.k === 'call' && t.a.f === 'exp'
          ? [t.b, t.a]
          : [undefined, undefined];
    if (!s || !x || x.k !== 'call' || !(s.k === 'call' && s.f === 'sqrt' && isVariance(s.args[0]!))) return undefined;
    return call('exp', bin('+', x.args[0]!, call('log', s)));
  },
  power: (t, r) =>
    t.k === 'call' && t.f === 'sqrt'
      ? r() < 0.5
        ? bin('^', t.args[0]!, num('0.5'))
        : call('pow', t.args[0]!, bin('/', num(1), num(2)))
      : undefined,
  'inverse-trig': (t, r) => {
    if (t.k !== 'call') return undefined;
    const u = t.args[0]!;
    // acos(x/sqrt(y)) = atan2(sqrt(y - x^2), x), as neural-tangents' own tests write the angle.
    if (t.f === 'acos' && u.k === 'bin' && u.op === '/' && u.b.k === 'call' && u.b.f === 'sqrt' && r() < 0.5)
      return call('atan2', sqrt(bin('-', u.b.args[0]!, bin('^', u.a, num(2)))), u.a);
    // atan2(y, sqrt(q)) = atan(y/sqrt(q)) (x > 0).
    if (t.f === 'atan2' && t.args[1]!.k === 'call' && t.args[1]!.f === 'sqrt')
      return call('atan', bin('/', t.args[0]!, t.args[1]!));
    // Half angles too: acos u = 2 acos(sqrt((1 + u)/2)) = 2 asin(sqrt((1 - u)/2)).
    const half = (sign: string, f: string) => bin('*', num(2), call(f, sqrt(bin('/', bin(sign, num(1), u), num(2)))));
    if (t.f === 'acos')
      return pick(r, [
        bin('-', halfPi(), call('asin', u)),
        call('atan2', sqrt(oneMinusSq(u)), u),
        half('+', 'acos'),
        half('-', 'asin'),
        // and the half angle's tangent: acos u = 2 atan(sqrt((1 - u)/(1 + u))).
        bin('*', num(2), call('atan', sqrt(bin('/', bin('-', num(1), u), bin('+', num(1), u))))),
      ]);
    if (t.f === 'asin')
      return pick(r, [
        bin('-', halfPi(), call('acos', u)),
        call('atan2', u, sqrt(oneMinusSq(u))),
        call('atan', bin('/', u, sqrt(oneMinusSq(u)))),
      ]);
    return undefined;
  },
  guards: (t, r) => {
    if (t.k !== 'call') return undefined;
    const u = t.args[0]!;
    if (t.f === 'acos' || t.f === 'asin') {
      return call(
        t.f,
        pick(r, [
          call('clip', u, num(-1), num(1)),
          call('where', bin('>', u, num(1)), num(1), u),
          call('min', call('max', u, num(-1)), num(1)),
        ]),
      );
    }
    if (t.f === 'sqrt' && isVariance(u) && r() < 0.3) return call('where', bin('>', u, num(0)), sqrt(u), num(0)); // zero-input guard
    if (t.f === 'sqrt' && u.k !== 'name') {
      const floors = mentionsCov(u)
        ? [call('max', u, num(0)), call('abs', u), call('max', u, num('1e-30'))]
        : [call('max', u, num(0)), call('abs', u)];
      return sqrt(pick(r, floors));
    }
    return undefined;
  },
  hyperbolic: (t) => {
    if (
      t.k !== 'bin' ||
      (t.op !== '-' && t.op !== '+') ||
      t.a.k !== 'call' ||
      t.a.f !== 'exp' ||
      t.b.k !== 'call' ||
      t.b.f !== 'exp'
    )
      return undefined;
    const [a, b] = [t.a.args[0]!, t.b.args[0]!];
    // exp(a) ∓ exp(b) = 2 exp((a + b)/2) sinh|cosh((a - b)/2)
    return bin(
      '*',
      bin('*', num(2), call('exp', bin('/', bin('+', a, b), num(2)))),
      call(t.op === '-' ? 'sinh' : 'cosh', bin('/', bin('-', a, b), num(2))),
    );
  },
};

/** The arguments of acos in t, then their other occurrences as cos(acos(u)), and sqrt(1 - u^2) as sin(acos(u)). */
function theta(t: T, r: Rand): T {
  const angles: T[] = [];
  const collect = (t: T) => {
    if (t.k === 'call' && t.f === 'acos') angles.push(t.args[0]!);
    if (t.k === 'neg') collect(t.a);
    if (t.k === 'bin') {
      collect(t.a);
      collect(t.b);
    }
    if (t.k === 'call') t.args.forEach(collect);
  };
  collect(t);
  if (!angles.length) return t;
  const keys = new Map(angles.map((u) => [keyOf(u), u]));
  const sines = new Map(angles.map((u) => [keyOf(sqrt(oneMinusSq(u))), u]));
  const rec = (t: T): T => {
    const k = keyOf(t);
    const u = keys.get(k);
    if (u && r() < 0.7) return call('cos', call('acos', u));
    const s = sines.get(k);
    if (s) {
      const x = r();
      // sin(theta), or the difference of squares split into two roots: sqrt(1 - u)*sqrt(1 + u).
      if (x < 0.5) return call('sin', call('acos', s));
      if (x < 0.75) return bin('*', sqrt(bin('-', num(1), s)), sqrt(bin('+', num(1), s)));
    }
    switch (t.k) {
      case 'num':
      case 'name':
        return t;
      case 'neg':
        return neg(rec(t.a));
      case 'bin':
        return bin(t.op, rec(t.a), rec(t.b));
      case 'call':
        return t.f === 'acos' ? t : call(t.f, ...t.args.map(rec));
    }
  };
  return rec(t);
}

// ---------------------------------------------------------------- printing

const PREC: Record<string, number> = {
  '<': 0,
  '<=': 0,
  '>': 0,
  '>=': 0,
  '==': 0,
  '!=': 0,
  '+': 1,
  '-': 1,
  '*': 2,
  '/': 2,
  '^': 4,
};
const prec = (t: T) => (t.k === 'bin' ? PREC[t.op]! : t.k === 'neg' ? 3 : 5);

interface Style {
  readonly python: boolean;
  readonly prefix: string;
  readonly piName: string;
  readonly names: Record<string, string>;
}

const PY_NAMES: Record<string, string> = {
  acos: 'arccos',
  asin: 'arcsin',
  atan: 'arctan',
  atan2: 'arctan2',
  min: 'minimum',
  max: 'maximum',
  pow: 'power',
};

function print(t: T, s: Style, temps: Map<string, string>): string {
  const temp = temps.get(keyOf(t));
  if (temp) return temp;
  const wrap = (x: T, min: number) => (prec(x) < min ? `(${print(x, s, temps)})` : print(x, s, temps));
  switch (t.k) {
    case 'num':
      return t.v;
    case 'name':
      return t.n === 'pi' ? s.piName : (s.names[t.n] ?? t.n);
    case 'neg':
      return `-${wrap(t.a, 3)}`;
    case 'bin': {
      if (t.op === '^') return `${wrap(t.a, 5)}${s.python ? '**' : '^'}${wrap(t.b, 3)}`;
      const p = PREC[t.op]!;
      const right = t.op === '-' || t.op === '/' ? p + 1 : p;
      return `${wrap(t.a, p)} ${t.op} ${wrap(t.b, right)}`;
    }
    case 'call': {
      const f = s.python ? s.prefix + (PY_NAMES[t.f] ?? t.f) : t.f;
      return `${f}(${t.args.map((a) => print(a, s, temps)).join(', ')})`;
    }
  }
}

export interface Paraphrase {
  readonly text: string;
  readonly families: readonly Family[];
}

/**
 * An equivalent source for `source` (params substituted), with a random subset of the
 * families applied, chosen by `seed`.
 */
export function paraphrase(source: string, params: Readonly<Record<string, number>>, seed: number): Paraphrase {
  const r = rng(seed);
  const families = FAMILIES.filter(() => r() < 0.45);
  let t = inline(source, params);
  for (const f of families) {
    if (f === 'theta') t = theta(t, r);
    const rule = LOCAL[f];
    if (rule) t = local(t, r, 0.7, (x) => rule(x, r));
  }
  const has = (f: Family) => families.includes(f);
  const python = r() < 0.5;
  const names: Record<string, string> = has('rename') && python ? { cov12: 'x12', var1: 'x11', var2: 'x22' } : {};
  const style: Style = {
    python,
    prefix: python ? pick(r, ['jnp.', 'np.', 'jax.numpy.']) : '',
    // pi's double printed out (np.pi's value, as a pasted constant), a multiple of pi after it.
    piName: has('pi')
      ? pick(r, python ? ['jnp.pi', 'np.pi', 'math.pi', '3.141592653589793'] : ['pi', '3.141592653589793'])
      : python
        ? 'jnp.pi'
        : 'pi',
    names,
  };
  // Temporaries: some subexpressions named, innermost first, each printed once.
  const temps = new Map<string, string>();
  const lines: string[] = [];
  const assign = (k: string, text: string) => {
    const n = `t${temps.size}`;
    lines.push(`${n} = ${text}`);
    temps.set(k, n);
  };
  if (has('temporaries')) {
    const candidates: T[] = [];
    const walk = (x: T) => {
      if (x.k === 'neg') walk(x.a);
      if (x.k === 'bin') {
        walk(x.a);
        walk(x.b);
      }
      if (x.k === 'call') x.args.forEach(walk);
      if (size(x) >= 3 && x !== t && !(x.k === 'bin' && PREC[x.op] === 0)) candidates.push(x);
    };
    walk(t);
    for (const c of candidates) if (!temps.has(keyOf(c)) && r() < 0.3) assign(keyOf(c), print(c, style, temps));
    const uses = (line: string, n: string) => new RegExp(`\\b${n}\\b`).test(line.split(' = ').slice(1).join(' = '));
    if (
      has('tuple') &&
      lines.length >= 2 &&
      !uses(lines[lines.length - 1]!, lines[lines.length - 2]!.split(' = ')[0]!)
    ) {
      const [a, b] = [lines.pop()!, lines.pop()!];
      const [na, va] = a.split(/ = (.*)/s);
      const [nb, vb] = b.split(/ = (.*)/s);
      lines.push(`${nb}, ${na} = ${vb}, ${va}`);
    }
  }
  let result = print(t, style, temps);
  if (has('augmented') && t.k === 'bin' && (t.op === '+' || t.op === '*') && !temps.has(keyOf(t))) {
    lines.push(
      `out = ${print(t.a, style, temps)}`,
      `out ${t.op}= ${t.b.k === 'bin' && PREC[t.b.op]! <= PREC[t.op]! ? `(${print(t.b, style, temps)})` : print(t.b, style, temps)}`,
    );
    result = 'out';
  }
  let text: string;
  if (python) {
    const [c, v1, v2] = ['cov12', 'var1', 'var2'].map((n) => names[n] ?? n);
    text = `def nngp_fn(${c}, ${v1}, ${v2}):\n${lines.map((l) => `  ${l}\n`).join('')}  return ${result}\n`;
  } else {
    text = `${lines.join('\n')}${lines.length ? '\n' : ''}${result}\n`;
  }
  return { text, families };
}
