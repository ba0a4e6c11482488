import { describe, expect, it } from 'vitest';
import { parse } from '../src/parse.js';
import { CompileError } from '../src/errors.js';
import { compile, fromActivation } from '../src/compile.js';
import { closed } from './helpers.js';

describe('parse', () => {
  it('reads plain math with assignments, ^ and **, comments and scientific numbers', () => {
    const p = parse('# relu-ish\nprod = var1*var2  # product\n1.5e-3 * prod ** 2 + cov12^2\n');
    expect(p.form).toBe('math');
    expect(p.body.map((a) => ('targets' in a ? a.targets[0]!.name : a.def.name))).toEqual(['prod']);
    expect(p.result.type).toBe('binary');
  });

  it('binds ** tighter than a leading minus, right-associative', () => {
    const p = parse('-cov12 ** 2 ** 3');
    expect(p.result).toMatchObject({
      type: 'unary',
      op: '-',
      arg: { type: 'binary', op: '^', right: { type: 'binary', op: '^' } },
    });
  });

  it('reads a pasted neural-tangents def with annotations, docstring, tuple and augmented assignment', () => {
    const src = `def nngp_fn(cov12: float, var1: jnp.ndarray, var2) -> float:
    """A docstring."""
    a, b = var1, var2
    prod = (1 + 2 * a) * \\
        (1 + 2 * b)
    out = jnp.arcsin(2 * cov12 /
                     np.sqrt(prod))
    out *= 2 / np.pi
    return out
`;
    const p = parse(src);
    expect(p.form).toBe('python');
    expect(p.def!.params.map((x) => x.name)).toEqual(['cov12', 'var1', 'var2']);
    expect(p.body).toHaveLength(4);
    expect(p.body[3]).toMatchObject({ op: '*=' });
  });

  it('reads prefixed strings (raw docstrings, bytes) as strings, and a def rebinding its inputs', () => {
    const raw =
      'def nngp_fn(cov12, var1, var2):\n    r"""Sigma: \\sigma^2 \\"quoted\\"."""\n    rb"x"\n    return 2 * cov12';
    expect(compile(raw).simplified).toBe('2*cov12');
    expect(compile('r = 3\nr*cov12').simplified).toBe('3*cov12');
    // Python rebinds a parameter; plain math keeps the inputs fixed.
    const scaled = compile(
      'S = 2.0\ndef nngp_fn(cov12, var1, var2):\n    cov12, var1, var2 = S * S * cov12, S * S * var1, S * S * var2\n    var2 += 0\n    return cov12 * var1 / var2',
    );
    expect(scaled.simplified).toBe('4*cov12*var1/var2');
    expect(() => compile('cov12 = 2\ncov12')).toThrow(/cannot assign to the input 'cov12'/);
  });

  it('reads a lambda bound to a name in a def as a local helper, late-bound as in Python', () => {
    const relu = compile('(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12)/(2*pi)');
    const local = compile(
      'def nngp_fn(cov12, var1, var2):\n    J1 = lambda t: jnp.sin(t) + (jnp.pi - t) * jnp.cos(t)\n    angle = lambda c, p: jnp.arccos(jnp.clip(c / jnp.sqrt(p), -1.0, 1.0))\n    p = var1 * var2\n    return jnp.sqrt(p) / (2 * jnp.pi) * J1(angle(cov12, p))',
    );
    expect(local.simplified).toBe(relu.simplified);
    // It reads the def's names where it is called; a later value of its name replaces it.
    expect(compile('def f(c, v1, v2):\n  g = lambda x: x * v1\n  v1 = 3\n  return g(c)').simplified).toBe('3*cov12');
    expect(compile('def f(c, v1, v2):\n  m = lambda u, w: u * w + c\n  return m(v1, v2) - m(v2, v1)').simplified).toBe(
      '0',
    );
    expect(() => compile('def f(c, v1, v2):\n  g = lambda x: 2 * x\n  g = 5\n  return g(c)')).toThrow(
      /'g' is a value here/,
    );
    expect(() => compile('def f(c, v1, v2):\n  h = lambda x: h(x)\n  return h(c)')).toThrow(/recursion/);
    // Its free names are those of the scope it was defined in (a calling lambda's parameters do
    // not hide them); in a helper def too; its name is not a value.
    expect(
      compile('def f(c, v1, v2):\n  k = 1\n  g = lambda x: x*k\n  h = lambda k: g(c)*k\n  return h(v1)').simplified,
    ).toBe('cov12*var1');
    expect(
      compile(
        'def g(x):\n  return 2*x\ndef h(x, y):\n  g = lambda t: 3*t*y\n  return g(x)\ndef f(c, v1, v2):\n  return h(c, v1)',
      ).simplified,
    ).toBe('3*cov12*var1');
    expect(() => compile('def f(c, v1, v2):\n  v1 = lambda x: 3*x\n  return v1(c) + v1')).toThrow(
      /'v1' is a function here/,
    );
    // Its defaults are evaluated where and when it is defined, as Python does.
    expect(
      compile('def f(c, v1, v2):\n  a = 2\n  g = lambda t, k=a: t*k\n  a = 7\n  return g(c) + g(c, v1)').simplified,
    ).toBe('2*cov12 + cov12*var1');
  });

  it('records 1-based line and column of nodes', () => {
    const p = parse('x = 1\n  cov12 + x');
    expect(p.result.loc).toMatchObject({ line: 2, column: 9 });
  });

  it('rejects tokens it does not know with a located error', () => {
    try {
      parse('cov12 $ 2');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CompileError);
      expect((e as CompileError).code).toBe('E_CHAR');
      expect((e as CompileError).column).toBe(7);
    }
  });
});

// Python as people paste it: each compiles to the same kernel as the plain form.
describe('pasted Python', () => {
  const same = (src: string, plain: string) => {
    const k = compile(src);
    const ref = compile(plain);
    expect(k.simplified, src).toBe(ref.simplified);
    for (const [c, v1, v2] of [
      [0.3, 1, 2],
      [-0.7, 0.5, 1.5],
      [1, 1, 1],
    ] as const)
      expect(k.dNngp(c, v1, v2)).toBe(ref.dNngp(c, v1, v2));
  };
  const ERF = 'asin(2*cov12/sqrt((1 + 2*var1)*(1 + 2*var2))) * 2/pi';

  it("neural-tangents' docstring example, with >>> and ... prompts and the code around it", () => {
    same(
      [
        '  >>> from jax import random',
        '  >>> from neural_tangents import stax',
        '  >>> import jax.numpy as np',
        '  >>>',
        '  >>> fn = jax.scipy.special.erf  # type: Callable[[float], float]',
        '  >>> x = random.normal(random.PRNGKey(1), (20, 32, 32, 3))',
        '  >>>',
        '  >>> def nngp_fn(cov12: float, var1: float, var2: float) -> float:',
        '  >>>   prod = (1 + 2 * var1) * (1 + 2 * var2)',
        '  >>>   return np.arcsin(2 * cov12 / np.sqrt(prod)) * 2 / np.pi',
        '  >>>',
        '  >>> # Use autodiff and vectorization to construct the layer:',
        '  >>> _, _, kernel_fn_auto = stax.Elementwise(fn, nngp_fn)',
        "  >>> print({'shape': x.shape})",
      ].join('\n'),
      ERF,
    );
    same(
      '>>> def nngp_fn(cov12, var1, var2):\n...     prod = (1 + 2 * var1) * (1 + 2 * var2)\n...     return jnp.arcsin(2 * cov12 / jnp.sqrt(prod)) * 2 / jnp.pi\n',
      ERF,
    );
  });

  it('import lines, module constants and helper defs called by nngp_fn (keywords and defaults too)', () => {
    same(
      [
        'import jax.numpy as jnp',
        'from jax.scipy.special import erf',
        '',
        'SCALE = 2.0',
        '',
        'def _denominator(v, scale=SCALE):',
        '    return 1 + scale * v',
        '',
        'def arc(x):',
        '    return jnp.arcsin(x)',
        '',
        'def nngp_fn(cov12, var1, var2):',
        '    prod = _denominator(var1) * _denominator(v=var2)',
        '    return arc(2 * cov12 / jnp.sqrt(prod)) * 2 / jnp.pi',
      ].join('\n'),
      ERF,
    );
    // The helper first, the map after it: the map is the def no other def calls.
    same('def g(x):\n  return x * x\n\ndef k(c, v1, v2):\n  return g(c) + v1\n', 'cov12^2 + var1');
    // import before a plain-math map.
    same('import numpy as np\nnp.square(cov12)', 'cov12^2');
    // A helper returning a tuple, unpacked by assignment.
    same(
      'def _polar(c, v1, v2):\n    r = np.sqrt(v1 * v2)\n    return r, c / r\n\ndef nngp_fn(cov12, var1, var2):\n    r, rho = _polar(cov12, var1, var2)\n    return r * rho**2',
      'cov12^2/sqrt(var1*var2)',
    );
    const refused = (src: string) => {
      try {
        compile(src);
      } catch (e) {
        return e as CompileError;
      }
      throw new Error(`compiled: ${src}`);
    };
    const once = refused(
      'def two(v):\n    return v, 2*v\n\ndef nngp_fn(cov12, var1, var2):\n    return two(var1) + cov12',
    );
    expect(once.message).toMatch(/def two returns 2 values, here used as one: unpack them \(a, b = two\(\.\.\.\)\)/);
    expect([once.line, once.column]).toEqual([5, 12]);
    const map = refused('def nngp_fn(cov12, var1, var2):\n    return cov12, var1');
    expect(map.message).toMatch(/def nngp_fn returns 2 values; nngp_fn returns one/);
    expect([map.line, map.column]).toEqual([2, 12]);
  });

  it("NumPy's and jax's spellings of arithmetic read as the operators they name", () => {
    const same = (spelled: string, plain: string) =>
      expect(compile(spelled).simplified, spelled).toBe(compile(plain).simplified);
    same('np.hypot(cov12, var1)', 'sqrt(cov12^2 + var1^2)');
    same('np.reciprocal(1 + var1)*cov12', 'cov12/(1 + var1)');
    same('jax.lax.rsqrt(var1*var2)*cov12', 'cov12/sqrt(var1*var2)');
    same('np.cbrt(cov12)', 'sign(cov12)*abs(cov12)^(1/3)');
    same('np.log10(1 + var1) + np.log2(1 + var2) + cov12', 'log(1 + var1)/log(10) + log(1 + var2)/log(2) + cov12');
    same('np.exp2(cov12)', 'exp(cov12*log(2))');
    same(
      'np.add(np.multiply(cov12, 2), np.subtract(var1, np.true_divide(var2, 3))) + np.negative(np.divide(cov12, 4))',
      '2*cov12 + var1 - var2/3 - cov12/4',
    );
    same('np.float64(cov12) * np.asarray(var1)', 'cov12*var1');
    same('math.tau*cov12', '2*pi*cov12');
    same(
      'jax.nn.leaky_relu(cov12) + jax.nn.leaky_relu(var1, negative_slope=0.2)',
      'where(cov12 >= 0, cov12, cov12/100) + where(var1 >= 0, var1, var1/5)',
    );
    same('np.heaviside(cov12, 0.5)', 'where(cov12 > 0, 1, where(cov12 < 0, 0, 0.5))');
    same('jax.scipy.special.ndtr(cov12)', '(1 + erf(cov12/sqrt(2)))/2');
    // As activations: the kernels of the spellings they name.
    for (const [spelled, plain] of [
      ['jax.nn.leaky_relu(x, 0.1)', 'where(x > 0, x, 0.1*x)'],
      ['x*ndtr(x)', 'x*(1 + erf(x/sqrt(2)))/2'],
    ])
      expect(fromActivation(spelled).simplified, spelled).toBe(fromActivation(plain).simplified);
    // pi's double is pi; a def's local may be named e (Python's builtins have none).
    same('3.141592653589793*cov12 + 6.283185307179586', 'pi*cov12 + 2*pi');
    same('3.14159*cov12', '314159/100000*cov12');
    same('def nngp_fn(cov12, var1, var2):\n    e = np.exp(cov12)\n    return e - 1/e', 'exp(cov12) - exp(-cov12)');
  });

  it('keyword arguments of NumPy functions are placed by name', () => {
    same('jnp.clip(cov12 / sqrt(var1*var2), a_min=-1, a_max=1)', 'clip(cov12 / sqrt(var1*var2), -1, 1)');
    same('jnp.maximum(x1=cov12, x2=0) * var1', 'max(cov12, 0) * var1');
    same('np.clip(cov12, min=-1, max=var1)', 'clip(cov12, -1, var1)');
    same('jnp.arctan2(x1=sqrt(var1*var2 - cov12^2), x2=cov12)', 'atan2(sqrt(var1*var2 - cov12^2), cov12)');
    const e = (src: string) => {
      try {
        compile(src);
      } catch (x) {
        return (x as CompileError).reason;
      }
      return '';
    };
    expect(e('jnp.clip(cov12, a_min=0, a_max=1, dtype=1)')).toBe(
      "clip has no argument 'dtype' (its arguments: a, a_min, a_max)",
    );
    expect(e('jnp.clip(cov12, 0, a_min=1)')).toBe("clip got argument 'a_min' twice");
    expect(e('def h(a):\n  return a\ndef nngp_fn(c, v1, v2):\n  return h(c, v1)')).toMatch(/def h takes 1 argument/);
    expect(e('def h(a):\n  return h(a)\ndef nngp_fn(c, v1, v2):\n  return h(c)')).toMatch(/recursion/);
  });

  it('a def d_nngp_fn beside the map is the user derivative, checked against the symbolic one', () => {
    const src = 'def nngp_fn(c, v1, v2):\n  return c**2 * v1\n\ndef d_nngp_fn(c, v1, v2):\n  return 2 * c * v1\n';
    expect(closed(compile(src)).derivativeSource).toMatch(/user|symbolic/);
    const wrong = src.replace('2 * c * v1', '3 * c * v1');
    expect(() => compile(wrong)).toThrow(/d_nngp disagrees/);
  });

  it('what the map does not reach may be any Python; what it reaches must parse', () => {
    same('x = {1: 2}\ny = 10 % 3\ndef nngp_fn(c, v1, v2):\n  return c\n', 'cov12');
    expect(() => compile('alpha = {1: 2}\ndef nngp_fn(c, v1, v2):\n  return alpha * c\n')).toThrow(/dicts/);
    expect(() => compile('def nngp_fn(c, v1, v2):\n  return c\n  c = 2\n')).toThrow(/code after 'return'/);
    expect(() => compile('def a(c, v1, v2):\n  return c\ndef b(c, v1, v2):\n  return v1\n')).toThrow(
      /which def is the nngp map: a, b\? Name it nngp_fn/,
    );
  });

  it("reads NumPy's and jax's spellings of bounds, flags and booleans", () => {
    const relu = fromActivation('max(x, 0)');
    const same = (a: string) => {
      const k = fromActivation(a);
      expect(k.nngp(0.4, 1.2, 0.7), a).toBeCloseTo(relu.nngp(0.4, 1.2, 0.7), 15);
      expect(k.dNngp(0.4, 1.2, 0.7), a).toBeCloseTo(relu.dNngp(0.4, 1.2, 0.7), 15);
    };
    same('np.clip(x, 0, None)'); // None: no upper bound
    same('jnp.clip(x, 0)');
    same('x * (x > 0)'); // a comparison as a number: Python's bool
    expect(() => fromActivation('np.clip(x, None, None)')).toThrow(/clip needs a lower or an upper bound/);
    // jax.nn.gelu: exact with approximate=False; its default (tanh) has no closed form, and says so.
    const gelu = fromActivation('jax.nn.gelu(x, approximate=False)');
    const byPhi = fromActivation('x*ndtr(x)');
    expect(gelu.nngp(0.4, 1.2, 0.7)).toBeCloseTo(byPhi.nngp(0.4, 1.2, 0.7), 15);
    expect(() => fromActivation('jax.nn.gelu(x)')).toThrow(/approximate=False/);
  });

  it("reads an annotated assignment and neural-tangents' own stax._sqrt and stax._arctan2", () => {
    const k = compile(`def nngp_fn(cov12, var1, var2):
    prod: float = var1 * var2
    root = stax._sqrt(prod - cov12**2)
    angle = stax._arctan2(root, cov12, fill_zero=np.pi / 2)
    return (root + (np.pi - angle) * cov12) / (2 * np.pi)`);
    const relu = compile('(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12)/(2*pi)');
    expect(k.simplified).toBe(relu.simplified);
    expect(k.dNngp(1.3, 1.3, 1.3)).toBe(0.5);
    for (const type of ['jnp.ndarray', 'List[float]', '"float"'])
      expect(
        compile(`def nngp_fn(cov12, var1, var2):\n    norm: ${type} = var1 * var2\n    return norm`).simplified,
      ).toBe('var1*var2');
    // stax._arctan2's fill_zero is the angle at (0, 0): only pi/2, the compiler's own, is accepted.
    expect(() => compile('stax._arctan2(sqrt(var1*var2 - cov12^2), cov12, 0.0)')).toThrow(/fill_zero other than pi\/2/);
  });

  it('reads a lambda as a def of one return, named or not; refuses one inside an expression', () => {
    const relu = compile('(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12)/(2*pi)');
    const named = compile(
      'import jax.numpy as jnp\nnngp_fn = lambda cov12, var1, var2: (jnp.sqrt(var1*var2 - cov12**2) + (jnp.pi - jnp.arccos(cov12/jnp.sqrt(var1*var2)))*cov12)/(2*jnp.pi)',
    );
    expect(named.simplified).toBe(relu.simplified);
    expect(compile('SCALE = 2.0\nlambda c, a, b: SCALE * c * a').simplified).toBe('2*cov12*var1');
    expect(() => compile('nngp_fn = lambda cov12, var1: cov12')).toThrow(/exactly 3 parameters/);
    expect(() =>
      compile('stax.Elementwise(fn, lambda c, v1, v2: c)\ndef nngp_fn(c, v1, v2):\n  return g(lambda x: x)'),
    ).toThrow(/inside an expression/);
    // Lambdas beside a result line are plain math, where a lambda is an error; a broken lambda
    // named nngp_fn is an error, not skipped for another def.
    expect(() => compile('g = lambda c, v1, v2: c\ncov12*var1')).toThrow(/'lambda' is supported only/);
    expect(() => compile('nngp_fn = lambda c, v1, v2: c +\ndef other(c, v1, v2):\n  return v1')).toThrow(
      /expected an expression/,
    );
    // A name defined twice is its last definition, as in Python.
    expect(compile('nngp_fn = lambda c, v1, v2: c\nnngp_fn = lambda c, v1, v2: v1').simplified).toBe('var1');
    expect(compile('def f(c, v1, v2):\n  return c\ndef f(c, v1, v2):\n  return v2').simplified).toBe('var2');
    // An annotation needs its value and its type.
    expect(() => compile('def nngp_fn(cov12, var1, var2):\n    norm: float\n    return 1')).toThrow(/needs a value/);
    expect(() => compile('def nngp_fn(cov12, var1, var2):\n    norm: = 3\n    return norm')).toThrow(/expected a type/);
    // An annotated lambda, its type read past (brackets included); a missing type is located.
    const annotated =
      'from typing import Callable\nnngp_fn: Callable[[float, float, float], float] = lambda c, v1, v2: 2*c*v1';
    expect(compile(annotated).simplified).toBe('2*cov12*var1');
    expect(() => compile('nngp_fn: = lambda c, v1, v2: c')).toThrow(/1:10: error: expected a type after 'nngp_fn:'/);
  });
});
