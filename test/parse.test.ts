import { describe, expect, it } from 'vitest';
import { parse } from '../src/parse.js';
import { CompileError } from '../src/errors.js';

describe('parse', () => {
  it('reads plain math with assignments, ^ and **, comments and scientific numbers', () => {
    const p = parse('# relu-ish\nprod = var1*var2  # product\n1.5e-3 * prod ** 2 + cov12^2\n');
    expect(p.form).toBe('math');
    expect(p.body.map((a) => a.targets[0]!.name)).toEqual(['prod']);
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
    expect(p.body[3]!.op).toBe('*=');
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
