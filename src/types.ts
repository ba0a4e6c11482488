// The data types every pass shares. The pipeline is
//
//   source --parse--> Program (surface AST, with locations)
//          --lower--> Expr (core IR: canonical, exact rationals)
//          --simplify--> Expr (the normal form) --differentiate--> Expr --simplify--> Expr
//          --stabilize--> Expr (an evaluation tree: core IR plus the stable primitives below)
//          --choose--> the trees to emit (stable, as written, or each in its region)
//          --emit--> module parts --print--> TypeScript or JavaScript text
//
// Every pass is a pure function from one of these representations to the next.

// ---------------------------------------------------------------- source locations

export interface Loc {
  /** 0-based offset of the first character. */
  readonly offset: number;
  /** 1-based line and column. */
  readonly line: number;
  readonly column: number;
  /** Length in characters (at least 1 for a caret). */
  readonly length: number;
}

// ---------------------------------------------------------------- surface AST

export type Node =
  | { readonly type: 'number'; readonly text: string; readonly loc: Loc }
  | { readonly type: 'name'; readonly name: string; readonly loc: Loc }
  | { readonly type: 'unary'; readonly op: '-' | '+'; readonly arg: Node; readonly loc: Loc }
  | { readonly type: 'binary'; readonly op: BinaryOp; readonly left: Node; readonly right: Node; readonly loc: Loc }
  | {
      readonly type: 'call';
      readonly callee: string;
      readonly calleeLoc: Loc;
      readonly args: readonly Node[];
      /** Keyword arguments (`jnp.clip(x, a_min=-1, a_max=1)`), after the positional ones. */
      readonly keywords: readonly KeywordArg[];
      readonly loc: Loc;
    }
  | { readonly type: 'tuple'; readonly items: readonly Node[]; readonly loc: Loc };

export interface KeywordArg {
  readonly name: string;
  readonly value: Node;
  readonly loc: Loc;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '^' | '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface Assignment {
  readonly targets: readonly { readonly name: string; readonly loc: Loc }[];
  /** '=' or an augmented operator. */
  readonly op: '=' | '+=' | '-=' | '*=' | '/=';
  readonly value: Node;
  readonly loc: Loc;
}

/**
 * A lambda bound to a name inside a def (`J = lambda t: sin(t) + (pi - t)*cos(t)`): a local
 * helper, which reads the def's names as they are where it is called (Python's late binding).
 */
export interface LocalDef {
  readonly def: FunctionDef;
  readonly loc: Loc;
}

/** A statement of a def's body. */
export type Statement = Assignment | LocalDef;

/** A Python def: its parameters, assignments and the one returned expression. */
export interface FunctionDef {
  readonly name: string;
  /** Parameters, positionally; a default makes one optional (`def f(x, a=0.5)`). */
  readonly params: readonly { readonly name: string; readonly loc: Loc; readonly default?: Node }[];
  readonly body: readonly Statement[];
  readonly result: Node;
  readonly loc: Loc;
}

export interface Program {
  readonly form: 'math' | 'python';
  /** For the Python form: the map's def, whose three parameters are, positionally, (cov12, var1, var2). */
  readonly def?: FunctionDef;
  /** The map's statements and result (the def's, in the Python form). */
  readonly body: readonly Statement[];
  readonly result: Node;
  /** Python form: the other defs of the file, which the map may call (helpers). */
  readonly helpers: readonly FunctionDef[];
  /** Python form: module-level assignments (`alpha = 0.5`), lowered only where a def reads them. */
  readonly globals: readonly Assignment[];
  /** Python form: a `def d_nngp_fn` beside the map, the user's derivative as stax.Elementwise takes it. */
  readonly derivative?: FunctionDef;
}

// ---------------------------------------------------------------- core IR

/** An exact rational number n/d with d > 0 and gcd(n, d) = 1. */
export interface Rat {
  readonly n: bigint;
  readonly d: bigint;
}

/**
 * The names a core expression may mention. `cov12`, `var1`, `var2` are the inputs;
 * `pi` is the constant. The stabilize pass adds derived inputs, see `StableSym`.
 */
export type SymName = 'cov12' | 'var1' | 'var2' | 'pi' | StableSym | ParamSym;

/**
 * A compile-time parameter kept as a symbol (`param:alpha`), only while the derivative in it is
 * taken (compile's `gradients`); bound to its value before anything is simplified for emission.
 */
export type ParamSym = `param:${string}`;

/**
 * Derived inputs the stabilize pass introduces; emit computes them once per point.
 * - `gap`: var1*var2 - cov12^2, from exact products, clamped at 0 (Cauchy–Schwarz).
 * - `rho`: cov12/sqrt(var1*var2) clamped to [-1, 1], and 0 when a variance is 0.
 */
export type StableSym = 'gap' | 'rho';

/** Functions of the core IR (after aliases such as arcsin → asin are resolved). */
export type FnName =
  | 'exp'
  | 'log'
  | 'log1p'
  | 'expm1'
  | 'sin'
  | 'cos'
  | 'tan'
  | 'asin'
  | 'acos'
  | 'atan'
  | 'atan2'
  | 'sinh'
  | 'cosh'
  | 'tanh'
  | 'erf'
  | 'erfc'
  | 'abs'
  | 'sign'
  | 'min'
  | 'max'
  | 'clip'
  | 'where'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'eq'
  | 'ne'
  | StableFn;

/**
 * Primitives only the stabilize pass introduces.
 * - `angle(y, x)`: atan2(y, x), but pi/2 at (0, 0): acos(0/0) with neural-tangents' theta = pi/2.
 * - `dd(p)`: the polynomial p in the inputs, evaluated with exact products and compensated sums.
 * - `expdd(p)`: exp of the polynomial p, its argument evaluated as `dd` (exp(hi) * (1 + lo)).
 * - `expdiff(a, b, d)`: exp(a) - exp(b), with d = a - b simplified symbolically; a
 *   polynomial exponent comes as dd(p), so that exp(hi + lo) = exp(hi) * (1 + lo).
 * - `ymxangle(y, x)`: y - x * angle(y, x), without the cancellation at small angles.
 * - `xangle(y, x)`: x * atan2(y, x); inside `csum`, to double-double accuracy at small angles
 *   (as y - ymxangle(y, x)).
 * - `ddq(e)`: a product of constants, polynomials and their integer or half-integer powers,
 *   evaluated entirely in double-double and rounded once.
 * - `csum(a + b + ...)`: a sum of non-polynomial terms, accumulated in double-double (each
 *   constant × value product taken exactly) and rounded once.
 * - `nearbound(x, y)`: x where gap ≤ var1*var2/64 (|rho| ≥ 0.992, on or outside the bound, zero
 *   inputs), y elsewhere: each region's more accurate candidate (choose.ts).
 * - `smallangle(y, x, scale, direct, phiMax, k0, a0, a1, ...)`: with phi = angle(y, x), the value
 *   of `direct`, computed at phi < phiMax as scale * phi^k0 * (a0 + a1 phi + ...) (smallangle.ts).
 * - `plainsum(a + b + ..., bound)`: the sum in plain doubles, in the interior regime only, with a
 *   runtime certificate that it does not cancel much (|sum| ≥ bound × (|a| + |b| + ...), bound ½
 *   or ¼: one or two bits); an entry where it does takes the stable code (interior.ts). Bound 0:
 *   proven on the whole domain, no test (interior.ts CERTIFICATE_RULE).
 * - `argbound(a + b + ..., bound, floor?)`: an exponent summed in plain doubles, with a runtime
 *   certificate that its terms are small (|a| + |b| + ... ≤ bound): its absolute error, which
 *   exp turns into a relative one, is then a few ulps of bound (interior.ts); the bound may be
 *   computed per entry (the numerator N of an exponent N·F, bounded by 2^k/|F|: N·F's error is
 *   then a few ulps of 2^k; -1, failing, where 2^k/|F| is over 2^400, EXPONENT_RULE); with a floor, also
 *   that they are not all tiny (≥ floor: a per-row or per-column factor, separate.ts). Also a
 *   compensated sum's plain tail, its bound a fraction of the exact terms (factored.ts).
 */
export type StableFn =
  | 'angle'
  | 'dd'
  | 'expdd'
  | 'expdiff'
  | 'ymxangle'
  | 'xangle'
  | 'ddq'
  | 'csum'
  | 'nearbound'
  | 'smallangle'
  | 'plainsum'
  | 'argbound';

/**
 * The canonical IR (built only by expr.ts's constructors, which canonicalise): what simplify,
 * differentiate and the rewrite rules work on. Every canonical expression is also a valid
 * evaluation tree (`Tree`), never the other way round.
 */
export type Expr = Num | Sym | Add | Mul | Pow | Fn;

/**
 * An evaluation tree (stabilize's output, emit's input): nodes kept as built (tree.ts), no
 * canonicalisation, so that a factored or grouped form stays as stabilize arranged it; its
 * stable primitives (StableFn) and canonical subexpressions (an Expr is a Tree) inside. Passing a
 * Tree where an Expr is expected is a type error: a canonical constructor would re-expand it.
 */
export type Tree = Num | Sym | TreeAdd | TreeMul | TreePow | TreeFn;

/** The two forms' marker: optional, never set at run time; it only keeps a Tree from being taken for an Expr. */
type Canonical = { readonly form?: 'canonical' };
type AsBuilt = { readonly form?: 'canonical' | 'tree' };

export interface TreeAdd extends AsBuilt {
  readonly k: 'add';
  readonly terms: readonly Tree[];
  readonly key: string;
}
export interface TreeMul extends AsBuilt {
  readonly k: 'mul';
  readonly factors: readonly Tree[];
  readonly key: string;
}
export interface TreePow extends AsBuilt {
  readonly k: 'pow';
  readonly base: Tree;
  readonly exp: Tree;
  readonly key: string;
}
export interface TreeFn extends AsBuilt {
  readonly k: 'fn';
  readonly name: FnName;
  readonly args: readonly Tree[];
  readonly key: string;
}

export interface Num {
  readonly k: 'num';
  readonly v: Rat;
  readonly key: string;
}
export interface Sym {
  readonly k: 'sym';
  readonly name: SymName;
  readonly key: string;
}
/** A sum: at least two terms, none a sum, like terms collected, sorted by key; a constant term first. */
export interface Add extends Canonical {
  readonly k: 'add';
  readonly terms: readonly Expr[];
  readonly key: string;
}
/** A product: no factor a product, bases collected, sorted; a rational coefficient (never 1) first. */
export interface Mul extends Canonical {
  readonly k: 'mul';
  readonly factors: readonly Expr[];
  readonly key: string;
}
export interface Pow extends Canonical {
  readonly k: 'pow';
  readonly base: Expr;
  readonly exp: Expr;
  readonly key: string;
}
export interface Fn extends Canonical {
  readonly k: 'fn';
  readonly name: FnName;
  readonly args: readonly Expr[];
  readonly key: string;
}

// ---------------------------------------------------------------- compiler output

export interface KernelInput {
  /** n1 × n2 row-major NNGP kernel. */
  readonly nngp: Float64Array;
  /** Optional n1 × n2 row-major NTK. */
  readonly ntk?: Float64Array;
  /** The n1 variances of the first batch. */
  readonly cov1: Float64Array;
  /** The n2 variances of the second batch; defaults to cov1. */
  readonly cov2?: Float64Array;
}

export interface KernelOutput {
  nngp: Float64Array;
  ntk?: Float64Array;
  cov1: Float64Array;
  cov2?: Float64Array;
}

/** kernel()'s options. */
export interface KernelOptions {
  /**
   * Arrays to write the results into (of the input's sizes; each a new array or the input's array
   * of the same name, updated in place), returned as the result: a layer loop then allocates nothing.
   */
  readonly out?: KernelOutput;
}

export interface CompileOptions {
  /** Values for the free identifiers of the source (compile-time constants). */
  readonly params?: Readonly<Record<string, number>>;
  /** Name for the kernel, used in the banner. */
  readonly name?: string;
  /** File name for error messages and the banner. */
  readonly filename?: string;
  /** Emit TypeScript (default) or plain JavaScript. */
  readonly target?: 'ts' | 'js';
  /**
   * A user-supplied d_nngp_fn (plain math or a def), as `stax.Elementwise` takes it; a
   * `# d_nngp: expr` line in the source does the same. It is checked against the symbolic
   * derivative (E_DERIVATIVE if they disagree) and emitted when it is the more accurate.
   */
  readonly dNngp?: string;
  /**
   * The plain-double regimes (default true): where cov12² ≤ var1·var2/2, or up to the bound
   * where neither the map's stable code nor the regime reads the gap or rho (interior), and then
   * on the exact gap elsewhere (near), evaluate in plain doubles with runtime certificates when that
   * measures as accurate as the stable code at compile time (interior.ts). false emits the
   * stable code only (slower; the reference for comparisons).
   */
  readonly interior?: boolean;
  /**
   * Params to differentiate in: the module also exports `gradients[name]`, with `nngp` =
   * d nngp_fn / d name and `dNngp` = d^2 nngp_fn / d cov12 d name (symbolic, simplified and
   * stabilized like d / d cov12), for fitting activation hyperparameters. Each must be a param
   * the source reads.
   */
  readonly gradients?: readonly string[];
}

/**
 * A helper def's call as lowering inlined it (one value): its parameters, the values they were
 * bound to (defaults included) and the value it returned. `again` lowers its body once more with
 * some parameters bound to other values (in its defining scope as at the call); compose.ts
 * reads a kernel composition, outer(inner(cov12, var1, var2), ...), from these.
 */
export interface InlinedCall {
  readonly params: readonly string[];
  readonly args: readonly Expr[];
  readonly result: Expr;
  readonly again: (bindings: ReadonlyMap<string, Expr>) => Expr;
}

/** A source's map and derivative as written (guards read by the guard rule): its meaning (meaning.ts). */
export interface Meaning {
  readonly nngp: Expr;
  readonly dNngp: Expr;
}

/** What the compiler derives from a source, before emitting. */
export interface Derivation {
  /** Which derivative is emitted: the symbolic one, or the user's d_nngp (more accurate, and agreeing). */
  readonly derivativeSource: 'symbolic' | 'user';
  /** The simplified nngp map and its derivative (canonical IR). */
  readonly nngp: Expr;
  readonly dNngp: Expr;
  /** Their evaluation trees (after stabilize; in a compiled kernel, the trees emitted). */
  readonly stableNngp: Tree;
  readonly stableDNngp: Tree;
  /** The source as written and its plain derivative: the other candidate (choose.ts), and accuracy's truth. */
  readonly written: Meaning;
  /** What compiled but looks like a mistake (a param the source never reads). */
  readonly warnings: readonly CompileWarning[];
}

/** A likely mistake that does not stop compilation. */
export interface CompileWarning {
  /** A param the source never reads; a param that replaces the source's module-level constant. */
  readonly code: 'W_UNUSED_PARAM' | 'W_PARAM_OVERRIDES_CONSTANT';
  readonly message: string;
}

export interface CompiledKernel {
  readonly name: string;
  /** Likely mistakes (e.g. a param the source never reads); tools print them, the API returns them. */
  readonly warnings: readonly CompileWarning[];
  nngp(cov12: number, var1: number, var2: number): number;
  dNngp(cov12: number, var1: number, var2: number): number;
  kernel(input: KernelInput, options?: KernelOptions): KernelOutput;
  /** With options.gradients: per param, d nngp_fn / d param and d^2 nngp_fn / d cov12 d param. */
  readonly gradients?: Readonly<
    Record<
      string,
      {
        nngp(cov12: number, var1: number, var2: number): number;
        dNngp(cov12: number, var1: number, var2: number): number;
      }
    >
  >;
  /** The simplified d nngp / d cov12 in plain math syntax (itself accepted by compile). */
  readonly derivative: string;
  /** The simplified nngp map in plain math syntax. */
  readonly simplified: string;
  /** The emitted module. */
  readonly code: string;
  /** The derivation, for tools (verify, accuracy, bench), with the trees emitted and how they were chosen. */
  readonly ir: ClosedFormIR | ComposedIR | MixtureIR;
}

/** A kernel without a closed form (fromActivation of the logistic family, ELU-type pieces): what it sums, and its module. */
export interface MixtureIR {
  readonly kernel: import('./mixture.js').Mixture | import('./tilted.js').TiltedKernel;
  readonly module: import('./emit/module.js').ModuleParts;
  readonly warnings: readonly CompileWarning[];
}

/**
 * A composition, outer(inner(cov12, var1, var2), w1, w2) with w1, w2 the inner map's diagonal
 * (compose.ts): the map's meaning (accuracy's truth; the whole map is never simplified as one
 * expression), and the two kernels compiled apart: the inner a closed-form kernel or a
 * composition again, the outer a closed form.
 */
export interface ComposedIR {
  readonly derivativeSource: 'symbolic';
  /** The source as written: accuracy's truth. */
  readonly written: Meaning;
  readonly warnings: readonly CompileWarning[];
  readonly composition: { readonly inner: ClosedFormIR | ComposedIR | DenseLayer; readonly outer: ClosedFormIR };
  readonly module: import('./emit/module.js').ModuleParts;
}

/** A Dense layer as a composition's inner map: scale cov12 + shift, its variances likewise (shift > 0: the bias variance). */
export interface DenseLayer {
  readonly dense: { readonly scale: number; readonly shift: number };
}

/** A closed-form kernel's derivation, with the trees emitted and how they were chosen. */
export type ClosedFormIR = Derivation & {
  /** The compile-time comparison with the source as written, per region (choose.ts). */
  readonly choice: import('./choose.js').Choice;
  /** The interior regime's trees: which candidate, and how each measured (interior.ts). */
  readonly interior: import('./interior.js').RegimeChoice;
  /** The near regime's trees (plain doubles on the exact gap, where the interior regime stored nothing). */
  readonly near: import('./interior.js').RegimeChoice;
  /** The emitted module before printing (emit/module.ts: printModule prints it for a target). */
  readonly module: import('./emit/module.js').ModuleParts;
};
