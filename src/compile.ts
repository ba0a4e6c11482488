// The pipeline: parse → lower → simplify → differentiate → simplify → stabilize → emit.
import { lower } from './ast.js';
import { differentiate } from './differentiate.js';
import { emitModule } from './emit.js';
import { parse } from './parse.js';
import { fileParams } from './sourcefile.js';
import { toMath } from './print.js';
import { simplify } from './simplify.js';
import { stabilize } from './stabilize.js';
import type { CompiledKernel, CompileOptions, Expr, KernelInput, KernelOutput, Program } from './types.js';
import { CompileError } from './errors.js';
import { TooComplex } from './expr.js';

export interface Derivation {
  /** The simplified nngp map and its derivative (canonical IR). */
  readonly nngp: Expr;
  readonly dNngp: Expr;
  /** Their evaluation trees (after stabilize). */
  readonly stableNngp: Expr;
  readonly stableDNngp: Expr;
}

/** Source → simplified map, derivative and their stable evaluation trees. */
export function derive(source: string, options: CompileOptions = {}): Derivation {
  const filename = options.filename ?? '<input>';
  const program = parse(source, filename);
  try {
    return deriveProgram(program, source, filename, options);
  } catch (e) {
    // Canonicalisation that recurses without end (a defect, found by fuzzing) or exhausts the
    // stack is reported as a compile error, never as a crash.
    if (e instanceof TooComplex || (e instanceof RangeError && /call stack/.test(e.message))) {
      throw new CompileError('E_TOO_LARGE', 'expression too complex to simplify; split it or simplify it by hand', source, program.result.loc, filename);
    }
    throw e;
  }
}

function deriveProgram(program: Program, source: string, filename: string, options: CompileOptions): Derivation {
  // `# params:` directives in the source, overridden by options.params.
  const params = { ...fileParams(source, filename), ...options.params };
  const nngp = simplify(lower(program, source, { params, filename }));
  const dNngp = simplify(differentiate(nngp, 'cov12'));
  return { nngp, dNngp, stableNngp: stabilize(nngp), stableDNngp: stabilize(dNngp) };
}

type Exports = Pick<CompiledKernel, 'nngp' | 'dNngp' | 'kernel'>;

/** Instantiates emitted JavaScript module text (the same function bodies users get). */
export function instantiate(jsModule: string): Exports {
  const body = jsModule.replace(/^export (function|interface|const) /gm, '$1 ');
  // eslint-disable-next-line no-new-func
  return new Function(`${body}\nreturn { nngp, dNngp, kernel };`)() as Exports;
}

/** Compiles nngp_fn source to a kernel: scalar nngp, dNngp, fused kernel, derivative and code. */
export function compile(source: string, options: CompileOptions = {}): CompiledKernel {
  const d = derive(source, options);
  const name = options.name ?? options.filename ?? 'nngp_fn';
  const common = {
    nngp: d.stableNngp,
    dNngp: d.stableDNngp,
    sourceName: options.filename ?? options.name ?? '<input>',
    simplified: toMath(d.nngp),
    derivative: toMath(d.dNngp),
  };
  const code = emitModule({ ...common, target: options.target ?? 'ts' });
  const js = options.target === 'js' ? code : emitModule({ ...common, target: 'js' });
  const mod = instantiate(js);
  return {
    name,
    nngp: mod.nngp,
    dNngp: mod.dNngp,
    kernel: (input: KernelInput): KernelOutput => mod.kernel(input),
    derivative: common.derivative,
    simplified: common.simplified,
    code,
    ir: d,
  };
}
