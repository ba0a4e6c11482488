// The pipeline: parse → lower → simplify → differentiate → simplify → stabilize → emit.
import { literal, lower, lowerProgram } from './lower.js';
import { differentiate } from './differentiate.js';
import { buildModule, DOMAIN_BOUND, interiorDomainOf, printModule, withOnGap, type ModuleParts } from './emit/index.js';
import { parse } from './parse.js';
import { effectiveParams } from './sourcefile.js';
import { toMath } from './print.js';
import { simplify } from './simplify.js';
import { stabilize } from './stabilize.js';
import type {
  DenseLayer,
  Meaning,
  ClosedFormIR,
  ComposedIR,
  CompiledKernel,
  CompileWarning,
  CompileOptions,
  Derivation,
  KernelInput,
  KernelOutput,
  KernelOptions,
  Loc,
  Expr,
  Program,
  Tree,
} from './types.js';
import { CompileError, locAt } from './errors.js';
import { HP, evaluateHP, hpFromDouble } from './evaluate.js';
import { GROUPS, bitsOfError, samplePoints } from './measure.js';
import * as E from './expr.js';
import { TooComplex } from './expr.js';
import * as Q from './rational.js';
import * as T from './tree.js';
import { choose, selectedTree } from './choose.js';
import { meaningOf } from './meaning.js';
import { separate } from './separate.js';
import { keepsAccuracyToBound } from './domain.js';
import { compensatedPolynomial, factoredPolynomial } from './factored.js';
import {
  chooseRegime,
  plainTree,
  type CandidateForm,
  type OrderedForm,
  type PlainCandidate,
  type RegimeCandidate,
  type RegimeChoice,
} from './interior.js';
import { typicalEntries } from './regimesamples.js';
import { ascendingSums } from './sumorder.js';
import { activation, activationOnly, type ActivationSource } from './activation.js';
import { decompose, kernelOf, NoClosedForm, wholeExps } from './expectation.js';
import { checkCompileOptions, checkSource } from './arguments.js';
import { mixtureOf, describeMixture, type Mixture } from './mixture.js';
import { buildMixtureModule } from './emit/mixture.js';
import { describeTilted, tiltedOf, type TiltedKernel } from './tilted.js';
import { buildTiltedModule } from './emit/tilted.js';
import { buildChainModule } from './emit/chain.js';
import { compositionOf, type Composition } from './compose.js';

/** Source → simplified map, derivative and their stable evaluation trees. */
export function derive(source: string, options: CompileOptions = {}): Derivation {
  checkSource('derive', source);
  checkCompileOptions('derive', options);
  source = source.replace(/^\uFEFF/, ''); // a byte order mark some editors write
  const filename = options.filename ?? '<input>';
  const fn = activationOnly(source);
  if (fn) {
    const where = { source: fn.located, filename };
    if (
      kernelWithoutClosedForm(fn.text, { ...options, params: effectiveParams(source, filename, options.params) }, where)
    )
      throw new CompileError(
        'E_NO_CLOSED_FORM',
        `f(x) = ${fn.text} has no closed-form kernel to derive; compile it (its kernel is a sum of closed forms over mixture nodes or pieces)`,
        where.source,
        locAt(where.source, Math.max(0, where.source.search(/\S/)), Math.max(1, fn.text.length)),
        filename,
      );
    return activationDerivation(
      fn.text,
      { ...options, params: effectiveParams(source, filename, options.params) },
      { source: fn.located, filename },
    );
  }
  const program = parse(source, filename);
  return withinLimits(program, source, filename, () => deriveProgram(program, source, filename, options));
}

/**
 * Canonicalisation that recurses without end (a defect, found by fuzzing) or exhausts the stack
 * is reported as a compile error, never as a crash.
 */
function withinLimits<T>(program: Program, source: string, filename: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof TooComplex || (e instanceof RangeError && /call stack/.test(e.message))) {
      throw new CompileError(
        'E_TOO_LARGE',
        'expression too complex to simplify; split it or simplify it by hand',
        source,
        program.result.loc,
        filename,
      );
    }
    throw e;
  }
}

/** A map (lowered core expression) → its simplified form, derivative, evaluation trees and meaning. */
function deriveMap(lowered: Expr) {
  const written = meaningOf(lowered);
  const nngp = simplify(lowered);
  const dNngp = simplify(differentiate(nngp, 'cov12'));
  return { nngp, dNngp, stableNngp: stabilize(nngp), stableDNngp: stabilize(dNngp), written };
}

/** A program lowered, with what compiled but looks like a mistake (a param it never reads). */
function lowerSource(program: Program, source: string, filename: string, options: CompileOptions) {
  const params = effectiveParams(source, filename, options.params);
  const lowered = lowerProgram(program, source, { params, filename });
  const warnings: CompileWarning[] = [
    ...lowered.unusedParams.map((k) => ({
      code: 'W_UNUSED_PARAM' as const,
      message: `${filename}: param '${k}' is not used by the source`,
    })),
    ...lowered.overriddenConstants.map((k) => ({
      code: 'W_PARAM_OVERRIDES_CONSTANT' as const,
      message: `${filename}: param '${k}' = ${params[k]} replaces the source's own constant ${k}`,
    })),
  ];
  return { lowered, warnings, params };
}

function deriveProgram(program: Program, source: string, filename: string, options: CompileOptions): Derivation {
  const {
    lowered: { expr: lowered, derivative: derivativeDef },
    warnings,
    params,
  } = lowerSource(program, source, filename, options);
  const { nngp, dNngp, stableNngp, stableDNngp, written } = deriveMap(lowered);
  const user =
    userDerivative(source, filename, options) ??
    (derivativeDef && program.derivative
      ? { expr: derivativeDef, source, file: filename, loc: program.derivative.loc }
      : undefined);
  if (!user) return { derivativeSource: 'symbolic', nngp, dNngp, stableNngp, stableDNngp, written, warnings };
  const userD = simplify(
    'expr' in user ? user.expr : lower(parse(user.text, user.file), user.text, { params, filename: user.file }),
  );
  // 1. The user's d_nngp must be the derivative: compare in 50 digits at interior points.
  for (const [c, v1, v2] of samplePoints('interior', 16, 3)) {
    const at = { cov12: hpFromDouble(c), var1: hpFromDouble(v1), var2: hpFromDouble(v2) };
    let a: number;
    let b: number;
    try {
      const x = evaluateHP(dNngp, at);
      const y = evaluateHP(userD, at);
      const rel = x
        .sub(y)
        .abs()
        .div(HP.max(x.abs(), y.abs(), '1e-300'));
      a = x.toNumber();
      b = y.toNumber();
      if (!rel.gt('1e-12')) continue;
    } catch {
      continue;
    }
    throw new CompileError(
      'E_DERIVATIVE',
      `d_nngp disagrees with d nngp / d cov12 at (cov12, var1, var2) = (${c}, ${v1}, ${v2}): ${b} vs ${a}`,
      user.source,
      user.loc,
      user.file,
    );
  }
  // 2. Both are right: emit the more accurate (mean bits of error over all domain groups).
  const stableUser = stabilize(userD);
  const bits = (tree: Tree) => {
    const mod = instantiate(
      buildModule({ nngp: stableNngp, dNngp: tree, sourceName: '', simplified: '', derivative: '' }),
    );
    let total = 0;
    let n = 0;
    GROUPS.forEach((g, gi) => {
      for (const [c, v1, v2] of samplePoints(g, 24, 11 + gi)) {
        // Truth: the two derivatives are equal (checked above); take whichever evaluates finitely.
        const at = { cov12: hpFromDouble(c), var1: hpFromDouble(v1), var2: hpFromDouble(v2) };
        let t = NaN;
        for (const candidate of [stableDNngp, stableUser]) {
          try {
            t = evaluateHP(candidate, at).toNumber();
          } catch {
            t = NaN;
          }
          if (Number.isFinite(t)) break;
        }
        if (Number.isFinite(t)) {
          total += bitsOfError(mod.dNngp(c, v1, v2), t);
          n++;
        }
      }
    });
    return total / Math.max(1, n);
  };
  const useUser = bits(stableUser) < bits(stableDNngp);
  return useUser
    ? { derivativeSource: 'user', nngp, dNngp: userD, stableNngp, stableDNngp: stableUser, written, warnings }
    : { derivativeSource: 'symbolic', nngp, dNngp, stableNngp, stableDNngp, written, warnings };
}

/**
 * The user's d_nngp as text: options.dNngp, or a `# d_nngp: expr` line of the source. (A
 * `def d_nngp_fn` beside the map is the third way; lower reads it with the map.)
 */
function userDerivative(
  source: string,
  filename: string,
  options: CompileOptions,
): { text: string; source: string; file: string; loc: Loc } | undefined {
  if (options.dNngp !== undefined)
    return {
      text: options.dNngp,
      source: options.dNngp,
      file: `${filename} (d_nngp)`,
      loc: locAt(options.dNngp, 0, Math.max(1, options.dNngp.length)),
    };
  const m = /^[ \t]*#[ \t]*d_nngp:[ \t]*(.*)$/m.exec(source);
  if (!m) return undefined;
  const offset = m.index + m[0].indexOf(m[1]!);
  return { text: m[1]!, source, file: filename, loc: locAt(source, offset, Math.max(1, m[1]!.length)) };
}

type Exports = Pick<CompiledKernel, 'nngp' | 'dNngp' | 'kernel' | 'gradients'>;

/**
 * Instantiates an emitted module in process (the same function bodies users get): its parts,
 * or their JavaScript printed as a function body (printModule with form 'body').
 */
export function instantiate(module: ModuleParts | string): Exports {
  const body = typeof module === 'string' ? module : printModule(module, { target: 'js', form: 'body' });
  // eslint-disable-next-line no-new-func
  return new Function(body)() as Exports;
}

/** Compiles nngp_fn source to a kernel: scalar nngp, dNngp, fused kernel, derivative and code. */
export function compile(source: string, options: CompileOptions = {}): CompiledKernel {
  checkSource('compile', source);
  checkCompileOptions('compile', options);
  // (A source that is only an activation, a `# fn:` line and directives: derive derives its kernel.)
  const filename = options.filename ?? '<input>';
  const params = effectiveParams(source, filename, options.params);
  const text = source.replace(/^\uFEFF/, '');
  const fn = activationOnly(text);
  if (fn) {
    const where = { source: fn.located, filename };
    const found = kernelWithoutClosedForm(fn.text, { ...options, params }, where);
    if (found) return compileWithoutClosedForm(found, { ...options, filename }, where);
  }
  // The map with the gradients' params kept as symbols (built only if gradients are asked for).
  const map = fn
    ? (symbolic: readonly string[]) =>
        activationKernel(fn.text, { ...options, params }, symbolic, { source: fn.located, filename }).kernel
    : (symbolic: readonly string[]) => lowerProgram(parse(text, filename), text, { params, filename, symbolic }).expr;
  // A helper kernel applied to another kernel's value and diagonal: the two compiled apart
  // (compose.ts), never simplified as one expression (three relu layers as one ran out of memory).
  // Not with a derivative of the user's, or gradients in params.
  if (!fn && !options.gradients?.length && !userDerivative(text, filename, options)) {
    const program = parse(text, filename);
    if (!program.derivative) {
      const composed = withinLimits(program, text, filename, () => {
        const { lowered, warnings } = lowerSource(program, text, filename, options);
        const composition = compositionOf(lowered.expr, lowered.calls);
        return composition && compileComposition(lowered.expr, composition, warnings, options);
      });
      if (composed) return composed;
    }
  }
  const derived = derive(source, options);
  return compileDerivation(derived, options, gradientMaps(map, params, options.gradients ?? [], source, filename));
}

/**
 * d nngp / d p and d^2 nngp / d cov12 d p for each requested param p: the map built with the
 * params kept as symbols, differentiated in p, the params bound to their values again, then
 * simplified like any map (mixed partials commute: the second is d / d cov12 of the first).
 */
function gradientMaps(
  map: (symbolic: readonly string[]) => Expr,
  params: Readonly<Record<string, number>>,
  names: readonly string[],
  source: string,
  filename: string,
): Gradient[] {
  if (!names.length) return [];
  const fail = (message: string): never => {
    throw new CompileError('E_PARAM', message, source, locAt(source, 0), filename);
  };
  for (const n of names)
    if (!Object.prototype.hasOwnProperty.call(params, n))
      fail(`gradient in '${n}': not a param of this source (its params: ${Object.keys(params).join(', ') || 'none'})`);
  const symbolic = map(names);
  const bind = (e: Expr) =>
    E.rebuild(e, (x) =>
      x.k === 'sym' && x.name.startsWith('param:') ? literal(Q.fromShortestDecimal(params[x.name.slice(6)]!)) : x,
    );
  return names.map((param) => {
    if (!E.mentions(symbolic, `param:${param}`)) fail(`gradient in '${param}': the source does not read it`);
    const nngp = simplify(bind(differentiate(symbolic, `param:${param}`)));
    const dNngp = simplify(differentiate(nngp, 'cov12'));
    return { param, nngp, dNngp, stableNngp: stabilize(nngp), stableDNngp: stabilize(dNngp) };
  });
}

interface Gradient {
  readonly param: string;
  readonly nngp: Expr;
  readonly dNngp: Expr;
  readonly stableNngp: Tree;
  readonly stableDNngp: Tree;
}

/**
 * The kernel of an activation given alone: nngp_fn(cov12, var1, var2) = E[f(x1) f(x2)] derived
 * in closed form (expectation.ts), then compiled as any source; `simplified` is the derived map.
 * An activation outside the table of expectations is an E_NO_CLOSED_FORM error saying what.
 */
export function fromActivation(fn: string, options: CompileOptions = {}): CompiledKernel {
  checkSource('fromActivation', fn);
  checkCompileOptions('fromActivation', options);
  const where = { source: fn, filename: options.filename ?? '<fn>' };
  const found = kernelWithoutClosedForm(fn, options, where);
  if (found)
    return compileWithoutClosedForm(
      found,
      { ...options, filename: options.filename ?? options.name ?? `fn: ${fn.trim()}` },
      where,
    );
  const gradients = gradientMaps(
    (symbolic) => activationKernel(fn, options, symbolic).kernel,
    options.params ?? {},
    options.gradients ?? [],
    fn,
    options.filename ?? '<fn>',
  );
  return compileDerivation(
    activationDerivation(fn, options),
    { ...options, filename: options.filename ?? options.name ?? `fn: ${fn.trim()}` },
    gradients,
  );
}

/** The derivation of an activation's kernel (fromActivation, and derive of a `# fn:`-only source). */
function activationDerivation(fn: string, options: CompileOptions, where?: ActivationSource): Derivation {
  const { kernel, unusedParams } = activationKernel(fn, options, [], where);
  const filename = where?.filename ?? options.filename ?? '<fn>';
  const warnings = unusedParams.map((k) => ({
    code: 'W_UNUSED_PARAM' as const,
    message: `${filename}: param '${k}' is not used by the activation`,
  }));
  return { derivativeSource: 'symbolic', ...deriveMap(kernel), warnings };
}

/**
 * An activation's kernel when it has no closed form but is a finite sum of closed forms: a scale
 * mixture (the logistic family, x erf: mixture.ts) or pieces through the bivariate normal CDF
 * (the exponential linear units: tilted.ts), with its unused params; undefined for any other
 * activation (the closed-form table decides those, and words their errors).
 */
function kernelWithoutClosedForm(
  fn: string,
  options: CompileOptions,
  where: ActivationSource,
): { kernel: Mixture | TiltedKernel; unusedParams: readonly string[] } | undefined {
  const { f, unusedParams } = activation(fn, options.params, [], where);
  let combination;
  try {
    combination = decompose(f);
  } catch (e) {
    if (e instanceof NoClosedForm) return undefined;
    throw e;
  }
  if (!combination.logistic.length && (!combination.exps.length || wholeExps(combination))) return undefined;
  try {
    return {
      kernel: combination.logistic.length ? mixtureOf(combination) : tiltedOf(combination),
      unusedParams,
    };
  } catch (e) {
    if (!(e instanceof NoClosedForm)) throw e;
    throw new CompileError(
      'E_NO_CLOSED_FORM',
      `no kernel for f(x) = ${fn.trim()}: ${e.message}`,
      where.source,
      locAt(where.source, Math.max(0, where.source.search(/\S/)), Math.max(1, fn.trim().length)),
      where.filename,
    );
  }
}

/**
 * The module of a kernel without a closed form (a scale mixture, or through the bivariate normal
 * CDF), instantiated: no choice, no interior regime, no gradients.
 */
function compileWithoutClosedForm(
  found: { kernel: Mixture | TiltedKernel; unusedParams: readonly string[] },
  options: CompileOptions,
  where: ActivationSource,
): CompiledKernel {
  const filename = options.filename ?? '<fn>';
  if (options.gradients?.length)
    throw new CompileError(
      'E_PARAM',
      "gradients in params are available for closed-form kernels only; this activation's kernel has none (a scale mixture or a bivariate normal CDF)",
      where.source,
      locAt(where.source, 0),
      filename,
    );
  const mixture = 'groups' in found.kernel ? found.kernel : undefined;
  const tilted = 'groups' in found.kernel ? undefined : found.kernel;
  const parts = mixture ? buildMixtureModule(mixture, filename) : buildTiltedModule(tilted!, filename);
  const describe = (derivative: boolean) =>
    mixture ? describeMixture(mixture, derivative) : describeTilted(tilted!, derivative);
  const mod = instantiate(parts);
  const warnings = found.unusedParams.map((k) => ({
    code: 'W_UNUSED_PARAM' as const,
    message: `${filename}: param '${k}' is not used by the activation`,
  }));
  return {
    name: options.name ?? filename,
    warnings,
    nngp: mod.nngp,
    dNngp: mod.dNngp,
    kernel: (input: KernelInput, opts?: KernelOptions): KernelOutput => mod.kernel(input, opts),
    derivative: describe(true),
    simplified: describe(false),
    code: printModule(parts, { target: options.target ?? 'ts' }),
    ir: { kernel: found.kernel, module: parts, warnings },
  };
}

/** E[f(x1) f(x2)] for the activation fn (params in `symbolic` kept as symbols), and the params it ignores. */
function activationKernel(
  fn: string,
  options: CompileOptions,
  symbolic: readonly string[] = [],
  where: ActivationSource = { source: fn, filename: options.filename ?? '<fn>' },
): { kernel: Expr; unusedParams: readonly string[] } {
  const { f, unusedParams } = activation(fn, options.params, symbolic, where);
  try {
    return { kernel: kernelOf(decompose(f)), unusedParams };
  } catch (e) {
    if (!(e instanceof NoClosedForm)) throw e;
    const start = Math.max(0, where.source.search(/\S/));
    // jax.nn.gelu's default is its tanh approximation; the exact GELU has a closed form.
    const gelu = /\bgelu\s*\(/.test(fn) && !/approximate\s*=\s*(False|0)\b/.test(fn);
    throw new CompileError(
      'E_NO_CLOSED_FORM',
      `no closed-form kernel for f(x) = ${fn.trim()}: ${e.message}${gelu ? " (gelu's default, approximate=True, is the tanh approximation; gelu(x, approximate=False) is x Phi(x), whose kernel is closed)" : ''}`,
      where.source,
      locAt(where.source, start, Math.max(1, fn.trim().length)),
      where.filename,
    );
  }
}

/**
 * A composition → one module over the inner and outer kernels' modules, each compiled as any
 * map (its own stable code, regimes and choice), or as a composition again.
 */
function compileComposition(
  map: Expr,
  composition: Composition,
  warnings: readonly CompileWarning[],
  options: CompileOptions,
): CompiledKernel {
  const irs = composedKernels(composition, options);
  let written: Meaning | undefined;
  const text = {
    sourceName: options.filename ?? options.name ?? '<input>',
    simplified: describeComposition(irs, false),
    derivative: describeComposition(irs, true),
  };
  // Both kernels also take their gap from chainAt: the outer's, and the inner's along its arc
  // (an inner composition takes it already).
  const onGap = (ir: ClosedFormIR | ComposedIR) =>
    'composition' in ir ? ir.module : withOnGap(ir.module, ir.stableNngp, ir.stableDNngp);
  const parts = buildChainModule(
    {
      inner: 'dense' in irs.inner ? irs.inner : onGap(irs.inner),
      outer: onGap(irs.outer),
      tight: composition.tight,
      tightEqual: composition.tightEqual,
    },
    text,
  );
  const mod = instantiate(parts);
  return {
    name: options.name ?? options.filename ?? 'nngp_fn',
    warnings,
    nngp: mod.nngp,
    dNngp: mod.dNngp,
    kernel: (input: KernelInput, opts?: KernelOptions): KernelOutput => mod.kernel(input, opts),
    derivative: text.derivative,
    simplified: text.simplified,
    code: printModule(parts, { target: options.target ?? 'ts' }),
    // The meaning (accuracy's truth) is taken only when asked for: four layers' derivative as
    // written, unsimplified, does not fit in memory.
    ir: {
      derivativeSource: 'symbolic',
      get written() {
        return (written ??= meaningOf(map));
      },
      warnings,
      composition: irs,
      module: parts,
    },
  };
}

/** A composition in words (the banner, `simplified`, `derivative`): each kernel's simplified map. */
function describeComposition(irs: ComposedIR['composition'], derivative: boolean): string {
  const of = (ir: ClosedFormIR | ComposedIR | DenseLayer): string =>
    'dense' in ir
      ? derivative
        ? String(ir.dense.scale)
        : `${ir.dense.scale}*cov12 + ${ir.dense.shift}`
      : 'composition' in ir
        ? `(${describeComposition(ir.composition, derivative)})`
        : toMath(derivative ? ir.dNngp : ir.nngp);
  return derivative
    ? `outer'(k, w1, w2) * inner'(cov12, var1, var2), outer' = ${of(irs.outer)}, inner' = ${of(irs.inner)}`
    : `outer(k, w1, w2), k = inner(cov12, var1, var2), w1 = inner(var1, var1, var1), w2 = inner(var2, var2, var2), outer = ${of(irs.outer)}, inner = ${of(irs.inner)}`;
}

/** The inner and outer kernels of a composition, compiled. */
function composedKernels(
  composition: Composition,
  options: CompileOptions,
): { inner: ClosedFormIR | ComposedIR | DenseLayer; outer: ClosedFormIR } {
  const derivation = (map: Expr): Derivation => ({ derivativeSource: 'symbolic', ...deriveMap(map), warnings: [] });
  const outer = compileDerivation(derivation(composition.outer), options).ir;
  // (compileDerivation compiles a closed form: a map without one comes only from an activation.)
  if (!('choice' in outer)) throw new Error('a composition of closed forms');
  if (composition.dense) return { inner: { dense: composition.dense }, outer };
  // The inner kernel may be a composition again (three layers); the outer is one closed form,
  // whose functions take the gap chainK gives them.
  const nested = compositionOf(composition.inner, composition.innerCalls);
  const inner = nested
    ? compileComposition(composition.inner, nested, [], options).ir
    : compileDerivation(derivation(composition.inner), options).ir;
  if (!('written' in inner)) throw new Error('a composition of closed forms');
  return { inner, outer };
}

/** A derivation → the emitted module, instantiated (the back half of compile). */
function compileDerivation(derived: Derivation, options: CompileOptions, gradients: Gradient[] = []): CompiledKernel {
  const name = options.name ?? options.filename ?? 'nngp_fn';
  // What every module of this compile carries besides the two trees.
  const text = {
    sourceName: options.filename ?? options.name ?? '<input>',
    simplified: toMath(derived.nngp),
    derivative: toMath(derived.dNngp),
    gradients: gradients.map((g) => ({
      param: g.param,
      nngp: g.stableNngp,
      dNngp: g.stableDNngp,
      formula: toMath(g.nngp),
    })),
  };
  let parts = buildModule({ nngp: derived.stableNngp, dNngp: derived.stableDNngp, ...text });
  let mod = instantiate(parts);
  // The stable code against the source as written, per region (choose.ts).
  const written = derived.written;
  const choice = choose(mod, written, { nngp: derived.stableNngp, dNngp: derived.stableDNngp });
  const nearbound = (x: Tree, y: Tree) => T.fn('nearbound', [x, y]);
  const trees = {
    nngp: selectedTree(choice.nngp, derived.stableNngp, written.nngp, nearbound),
    dNngp: selectedTree(choice.dNngp, derived.stableDNngp, written.dNngp, nearbound),
  };
  if (trees.nngp !== derived.stableNngp || trees.dNngp !== derived.stableDNngp) {
    parts = buildModule({ ...trees, ...text });
    mod = instantiate(parts);
  }
  // Far from the bound, plain doubles where they measure as accurate (interior.ts); then, on
  // the exact prologue, plain doubles wherever the interior regime stored nothing (the near
  // regime: the exact gap kept, the double-double arithmetic left to where a sum cancels).
  // In the interior, exponentials split into per-row, per-column and per-entry factors
  // (separate.ts). Not in the near regime, which also runs on and outside the bound: there a large
  // per-entry factor times small per-row and per-column ones (e^c e^-v1/2 e^-v2/2 on the
  // diagonal) compounds roundings that the stable code's exponent, cancelled exactly, does not
  // (sin's derivative measured 1.03 bits outside the bound). Up to the bound (an interior regime
  // whose domain reaches it) the split measures within the targets (README, accuracy per group).
  // An interior candidate's domain follows what it and the stable code read and, for a normal
  // form, its shape (parts.ts interiorDomainOf); its separated exponents are bounded by it.
  const stableTrees = [trees.nngp, trees.dNngp];
  // The near regime's trees are not split, and read its exact gap. Each plain candidate comes
  // with its exponents certified by their terms' magnitude and, as a second candidate, by
  // cancellation (interior.ts EXPONENT_RULE); where the two are the same trees (no exponent
  // N·F), chooseRegime measures them once.
  const PLAIN: readonly (readonly [PlainCandidate, string[], number])[] = [
    ['plain stable', [], 1],
    ['plain stable, two-bit certificates', [], 2],
    ['plain stable, three-bit certificates', [], 3],
    ['plain but compensated sums', ['csum'], 1],
  ];
  // In the interior, each also with its exponentials not split, where splitting changes them: the
  // split saves exponentials per entry but multiplies roundings (sin's derivative, e^-v1/2 e^-v2/2
  // (e^|c| + e^-|c|)/2, erred 0.53 bits on typical entries where its formula as written, two
  // exponentials of a rounded sum, erred 0.36), so which is accurate enough is measured.
  const plain = (regime: 'interior' | 'near'): RegimeCandidate[] =>
    (['by magnitude', 'by cancellation'] as const).flatMap((exponents) =>
      PLAIN.flatMap(([base, keep, lostBits]): RegimeCandidate[] => {
        const name = exponents === 'by magnitude' ? base : (`${base}, exponents by cancellation` as const);
        const kept = new Set(regime === 'near' ? [...keep, 'nearbound'] : keep);
        const options = { keep: kept, lostBits, exactGap: regime === 'near', exponents };
        const nngp = plainTree(trees.nngp, options);
        const dNngp = plainTree(trees.dNngp, options);
        if (regime === 'near') return [{ name, nngp, dNngp }];
        const domain = interiorDomainOf(stableTrees, [nngp, dNngp], true);
        const m = DOMAIN_BOUND[domain];
        const split = { name, nngp: separate(nngp, m), dNngp: separate(dNngp, m), domain };
        if (split.nngp.key === nngp.key && split.dNngp.key === dNngp.key) return [split];
        return [split, { name: `${name}, exponentials not split`, nngp, dNngp, domain }];
      }),
    );
  // Where the stable code reads the exact gap only in sums that other terms dominate (1 + 2 var1 +
  // 2 var2 + 4 gap), the plain gap certified against var1*var2 reaches the bound: anti-correlated
  // and correlated entries then take the interior code too. Only where the domain does reach it.
  // Certified to lose at most two bits, or one (gaussian's 1 + 2 var1 + 2 var2 + 4 gap: with two,
  // 0.04 bits less accurate than the stable code in two groups of the choice's samples, rejected).
  const TO_THE_BOUND = [
    ['plain stable to the bound', 2],
    ['plain stable to the bound, one-bit certificates', 1],
  ] as const;
  function plainToTheBound(): RegimeCandidate[] {
    if (!stableTrees.some((t) => E.mentions(t, 'gap'))) return [];
    return TO_THE_BOUND.flatMap(([name, lostBits]): RegimeCandidate[] => {
      const options = { lostBits, toBound: true };
      const [nngp, dNngp] = [plainTree(trees.nngp, options), plainTree(trees.dNngp, options)] as const;
      const domain = interiorDomainOf(stableTrees, [nngp, dNngp], 'gap to the bound');
      if (domain === 'half') return [];
      const m = DOMAIN_BOUND[domain];
      return [{ name, nngp: separate(nngp, m), dNngp: separate(dNngp, m), domain }];
    });
  }
  // A polynomial map whose cov12-coefficients have rank one: exact per-row and per-column
  // factors, a plain certified sum per entry (factored.ts), where the expanded form cancels.
  // Certified to lose at most two bits, or three: the wider certificate falls back less often
  // where the map has a zero in the data (a Polynomial layer's (1/2 - 3 var1/10)(1/2 - 3 var2/10)
  // at var = 5/3: 5.3% of realistic entries at two bits, 2.6% at three), at some accuracy.
  function factored(): RegimeCandidate[] {
    return ([2, 3] as const).flatMap((lostBits): RegimeCandidate[] => {
      const [nngp, dNngp] = [derived.nngp, derived.dNngp].map((e) => factoredPolynomial(e, lostBits));
      // Without an exact factor it is a plain candidate already tried.
      const exact = (t: Tree) => E.some(t, (x: Tree) => x.k === 'fn' && x.name === 'dd');
      if (!nngp || !dNngp || !(exact(nngp) || exact(dNngp))) return [];
      const name = lostBits === 2 ? 'factored polynomial' : 'factored polynomial, three-bit certificates';
      return [{ name, nngp, dNngp, domain: interiorDomainOf(stableTrees, [nngp, dNngp], true) }];
    });
  }
  // The same map with its low powers of cov12 exact (double-double factors, compensated) and the
  // rest a plain tail certified against them (factored.ts compensatedPolynomial), per output, or
  // that output plain (the factored form, certified to two bits or three): a candidate per pair
  // with an exact output, the cheapest accepted one wins. A Polynomial layer's nngp plain to three
  // bits and its derivative exact to degree 0 (exact to degree 1 for both ran 1.4 times slower
  // per entry; plain to two bits falls back twice as often, no faster; both plain, the
  // derivative is less accurate than as written). Its domain is the half domain: toward the
  // bound the tail grows and fails there.
  function compensatedFactored(): RegimeCandidate[] {
    const out: RegimeCandidate[] = [];
    const exact = [derived.nngp, derived.dNngp].map((e) => [0, 1].map((k) => compensatedPolynomial(e, k)));
    for (const lostBits of [2, 3]) {
      // Per output: plain (factoredPolynomial, certified to lose at most lostBits) or exact to degree 0 or 1.
      // (A plain form with no sum to certify is the same at either width: tried once.)
      const plainAt = (e: Expr) => {
        const t = factoredPolynomial(e, lostBits);
        return lostBits === 3 && t && t.key === factoredPolynomial(e, 2)?.key ? undefined : t;
      };
      const forms = [derived.nngp, derived.dNngp].map((e, o) => [
        ['none', plainAt(e)] as const,
        ...exact[o]!.map((t, k) => [k, t] as const),
      ]);
      for (const [i, nngp] of forms[0]!)
        for (const [j, dNngp] of forms[1]!) {
          const plainParts = [i, j].filter((k) => k === 'none').length;
          // Both plain: the factored candidate; a second certificate width only where a part is plain.
          if (!nngp || !dNngp || plainParts === 2 || (lostBits === 3 && !plainParts)) continue;
          const name =
            `factored polynomial, exact to degree ${i} and ${j}${lostBits === 3 ? ', three-bit certificates' : ''}` as const;
          out.push({ name, nngp, dNngp, domain: 'half' });
        }
    }
    return out;
  }
  // The normal form in plain doubles: as it is where no sum of it can cancel (keepsAccuracyToBound:
  // exp_normalized's), else with its sums certified like the plain candidates' (a polynomial's
  // 1 - var1 - var2 + var1*var2 + cov12^2 cancels entirely at var1 = var2 = 1, which samples
  // miss); listed after them, so that a tie (the same trees: gaussian's) keeps their name.
  const normal = [derived.nngp, derived.dNngp] as const;
  const normalAsItIs = normal.every(keepsAccuracyToBound);
  function certifiedNormalForm(): RegimeCandidate[] {
    if (normalAsItIs) return [];
    const [nngp, dNngp] = normal.map((t) => plainTree(t, { checked: true })) as [Tree, Tree];
    return [{ name: 'normal form', nngp, dNngp, domain: interiorDomainOf(stableTrees, [nngp, dNngp], true) }];
  }
  function normalFormAsItIs(): RegimeCandidate[] {
    if (!normalAsItIs) return [];
    return [
      { name: 'normal form', nngp: normal[0], dNngp: normal[1], domain: interiorDomainOf(stableTrees, normal, false) },
    ];
  }
  // Each candidate, then the same with its sums' terms smallest first at the regime's typical
  // entries (sumorder.ts) where that changes it: of equal cost, the second is measured only where
  // the first is rejected or falls back (chooseRegime). Smallest first is not always more accurate
  // (gabor's near regime: 0.96 bits against 0.91 as built, where sums cancel), so it is measured.
  const withSmallestFirst = (list: readonly RegimeCandidate[], regime: 'interior' | 'near'): RegimeCandidate[] => {
    const entries = typicalEntries(regime);
    return list.flatMap((c) => {
      const [nngp, dNngp] = [ascendingSums(c.nngp, entries), ascendingSums(c.dNngp, entries)];
      if (nngp === c.nngp && dNngp === c.dNngp) return [c];
      return [c, { ...c, name: `${c.name as CandidateForm}, smallest terms first`, nngp, dNngp, reordered: true }];
    });
  };
  const candidates: RegimeCandidate[] = withSmallestFirst(
    [
      ...normalFormAsItIs(),
      ...plain('interior'),
      ...certifiedNormalForm(),
      ...plainToTheBound(),
      ...factored(),
      ...compensatedFactored(),
    ],
    'interior',
  );
  type Chosen = { choice: RegimeChoice; parts?: ModuleParts; module?: typeof mod; expected: number };
  const off: Chosen = { choice: { emitted: 'none', tried: [] }, expected: Infinity };
  const nearCandidates = withSmallestFirst(plain('near'), 'near');
  // The near regime for an interior choice: wherever that interior does not store a value.
  const nearFor = (interior: Chosen): Chosen => {
    // The emitted candidate's trees, as its choice records them (a twin short of the bound included).
    const chosen = interior.choice.trees;
    const withInterior = {
      ...trees,
      ...text,
      ...(chosen ? { interior: { nngp: chosen.nngp, dNngp: chosen.dNngp, domain: chosen.domain ?? 'half' } } : {}),
    };
    return chooseRegime(interior.module ?? mod, nearCandidates, withInterior, derived, instantiate, 'near');
  };
  const chooseInterior = (among: readonly RegimeCandidate[]): Chosen =>
    chooseRegime(mod, among, { ...trees, ...text }, derived, instantiate);
  // Where some candidate reaches the bound, it is weighed against the best half-domain candidate
  // with the near regime that would run the rest, by chooseRegime's expected cost per entry
  // (k + f·base): the candidate to the bound, for a typical entry and a typical near-bound entry,
  // against the half candidate's for the first and its near regime's for the second. (Charging
  // the half candidates the stable code's cost for the near-bound entries instead chose gelu's
  // candidate to the bound, 177 operations against 106, whose realistic entries then ran
  // 27 -> 48 ns and anti-correlated 32 -> 70, timed.)
  const reachesBound = (c: RegimeCandidate) => c.domain === 'projection';
  // A candidate whose trees reach the bound may be accurate enough only within the half domain:
  // each one turned away there as less accurate is also offered as a half-domain candidate, which
  // the near regime completes (twins of them all measured sin's and cos's six candidates twice
  // again, their compile time +25-30%, for the same choice; a Polynomial layer's
  // plain factored form, terms smallest first, erred 0.57 bits in its value at anti-correlated
  // near-bound entries against 0.40 as written; within |rho| <= 0.71 it is accepted, 28
  // operations per entry against 44 with its derivative exact to degree 0).
  const shortOfTheBound = (c: RegimeCandidate): RegimeCandidate => ({
    ...c,
    name: `${c.name as OrderedForm}, short of the bound`,
    domain: 'half',
  });
  let interior: Chosen = off;
  let near: Chosen = off;
  if (options.interior !== false) {
    const toBound = candidates.some(reachesBound) ? chooseInterior(candidates.filter(reachesBound)) : off;
    const lessAccurate = new Set(toBound.choice.tried.filter((t) => t.lessAccurateIn?.length).map((t) => t.name));
    const half = chooseInterior([
      ...candidates.filter((c) => !reachesBound(c)),
      ...candidates.filter((c) => reachesBound(c) && lessAccurate.has(c.name)).map(shortOfTheBound),
    ]);
    // Where the candidate to the bound wins even with a near regime that costs nothing, the
    // half candidate's near regime is not measured.
    const decided = toBound.module && 2 * toBound.expected <= half.expected;
    const nearOfHalf = decided ? off : nearFor(half);
    if (toBound.module && (decided || 2 * toBound.expected <= half.expected + nearOfHalf.expected)) {
      interior = toBound;
      near = nearFor(toBound);
    } else {
      interior = half;
      near = nearOfHalf;
    }
    // Every candidate tried, in either choice.
    interior = { ...interior, choice: { ...interior.choice, tried: [...half.choice.tried, ...toBound.choice.tried] } };
  }
  for (const chosen of [interior, near])
    if (chosen.parts && chosen.module) {
      parts = chosen.parts;
      mod = chosen.module;
    }
  const code = printModule(parts, { target: options.target ?? 'ts' });
  return {
    name,
    warnings: derived.warnings,
    nngp: mod.nngp,
    dNngp: mod.dNngp,
    kernel: (input: KernelInput, options?: KernelOptions): KernelOutput => mod.kernel(input, options),
    ...(mod.gradients ? { gradients: mod.gradients } : {}),
    derivative: text.derivative,
    simplified: text.simplified,
    code,
    ir: {
      ...derived,
      stableNngp: trees.nngp,
      stableDNngp: trees.dNngp,
      choice,
      interior: interior.choice,
      near: near.choice,
      module: parts,
    },
  };
}
