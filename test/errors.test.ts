import { describe, expect, it } from 'vitest';
import { CompileError, compile, compileActivation } from '../src/index.js';

function err(src: string, params?: Record<string, number>): CompileError {
  try {
    compile(src, { filename: 'k.nngp', params });
  } catch (e) {
    expect(e).toBeInstanceOf(CompileError);
    return e as CompileError;
  }
  throw new Error('expected a CompileError');
}

describe('errors', () => {
  it('unknown function: names it, suggests the nearest, frames it with a caret', () => {
    const e = err('x = 1\nx + jnp.arcsn(cov12)');
    expect(e.code).toBe('E_UNKNOWN_FUNCTION');
    expect(e.message).toContain("unknown function 'jnp.arcsn'; did you mean 'arcsin'?");
    expect([e.line, e.column]).toEqual([2, 5]);
    expect(e.frame).toBe(
      [
        "k.nngp:2:5: error: unknown function 'jnp.arcsn'; did you mean 'arcsin'?",
        '  |',
        '2 | x + jnp.arcsn(cov12)',
        '  |     ^^^^^^^^^',
      ].join('\n'),
    );
  });

  it('a long line is shown as a window around the fault, caret aligned', () => {
    const e = err('cov12' + ' + cov12'.repeat(200) + ' + arcsn(var1)' + ' + var1'.repeat(200));
    const lines = e.excerpt.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(120);
    expect(lines[1]).toMatch(/^1 \| ….*arcsn\(var1\).*…$/);
    expect(lines[1]!.indexOf('arcsn')).toBe(lines[2]!.indexOf('^'));
    expect(e.frame.split('\n').slice(1).join('\n')).toBe(e.excerpt);
  });

  it("a param outside a map's # range: is refused at the directive, not computed by the wrong case", () => {
    const src = '# range: n = 0..1\n# params: n=1\nwhere(n == 0, 1, cov12)';
    expect(compile(src, { params: { n: 0 } }).nngp(0.3, 1, 1)).toBe(1);
    for (const n of [2, 0.5, -1]) {
      const e = err(src, { n });
      expect(e.code).toBe('E_PARAM');
      expect(e.message).toMatch(/param n = .* is outside this map's range: an integer from 0 to 1/);
      expect([e.line, e.column]).toEqual([1, 3]);
    }
    // The catalog's case-chain maps carry one (RectifiedMonomial's J_3 answered n = 4 before).
    expect(() => compileActivation('rectified_monomial', { n: 4 })).toThrow(/outside this map's range/);
    expect(compileActivation('rectified_monomial', { n: 3 }).nngp(0.3, 1, 1)).toBeGreaterThan(0);
  });

  it('wrong arity', () => {
    const e = err('atan2(cov12)');
    expect(e.code).toBe('E_ARITY');
    expect(e.reason).toBe('atan2 takes 2 arguments, got 1');
  });

  it('unbound name, with how to bind it', () => {
    const e = err('a * cov12');
    expect(e.code).toBe('E_UNBOUND');
    expect(e.reason).toContain("unbound name 'a'");
    expect(e.column).toBe(1);
    expect(compile('a * cov12', { params: { a: 2 } }).nngp(3, 4, 4)).toBe(6);
  });

  it('syntax errors point at the offending token', () => {
    const e = err('cov12 + * var1');
    expect(e.code).toBe('E_SYNTAX');
    expect(e.column).toBe(9);
    expect(e.frame).toContain('^');
  });

  it('unterminated brackets and bad characters', () => {
    expect(err('exp(cov12').code).toBe('E_UNTERMINATED');
    expect(err('cov12 $ var1').code).toBe('E_CHAR');
    expect(err('cov12 @ var1').reason).toMatch(/matrix products/);
    expect(err('cov12 // var1').reason).toMatch(/floor division/);
  });

  it('unsupported Python gets a hint', () => {
    const e = err('def f(c, v1, v2):\n  if c > 0:\n    return c\n  return 0');
    expect(e.code).toBe('E_UNSUPPORTED');
    expect(e.reason).toContain('where(cond, a, b)');
    expect(e.line).toBe(2);
  });

  it('every unsupported Python construct is named, with a hint', () => {
    const cases: [string, RegExp][] = [
      ['def f(c, v1, v2):\n  for i in range(3):\n    c = c\n  return c', /'for' is not supported/],
      ['def f(c, v1, v2):\n  while c:\n    c = c\n  return c', /'while' is not supported/],
      ['def f(c, v1, v2):\n  return (lambda x: x)(c)', /'lambda' is supported only as a whole map or helper/],
      ['def f(c, v1, v2):\n  import jax\n  return c', /imports are not needed/],
      ['def f(c, v1, v2):\n  h = c * 2\n  return h(v1)', /'h' is a value here, not a function/],
      ['def f(c, v1, v2):\n  def g(x):\n    return x\n  return g(c)', /a def inside a def is not supported/],
      ['cov12 if var1 > 0 else var2', /use where\(cond, a, b\)/],
    ];
    for (const [src, re] of cases) {
      const e = err(src);
      expect(e.code, src).toBe('E_UNSUPPORTED');
      expect(e.reason, src).toMatch(re);
    }
  });

  it('missing return, assignment to an input, bad params, empty source', () => {
    expect(err('def f(c, v1, v2):\n  x = c\n').code).toBe('E_NO_RETURN');
    expect(err('cov12 = 2\ncov12').code).toBe('E_ASSIGN_INPUT');
    expect(err('a*cov12', { a: Number.NaN }).code).toBe('E_PARAM');
    expect(() => compile('a*cov12', { params: { a: '1' as unknown as number } })).toThrow(
      "compile: options.params.a must be a number, got '1'",
    );
    expect(err('a*cov12', { a: Infinity }).reason).toBe("param 'a' must be a finite number, got Infinity");
    expect(err('  \n# nothing\n').code).toBe('E_EMPTY');
  });

  it('never throws anything but CompileError for bad text', () => {
    for (const s of [
      '(',
      ')',
      'def',
      'def f(',
      'def f(a,b,c):',
      '1 +',
      '**',
      'x = ',
      'f()',
      'sqrt()',
      '"unterminated',
      'cov12 ,',
      'a, b = 1',
      '\u2028',
    ]) {
      expect(() => compile(s)).toThrow(CompileError);
    }
  });
});
