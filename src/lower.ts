// The lower pass: surface AST → core IR. Resolves names (the map's def parameters map
// positionally to cov12, var1, var2; assignments are inlined in order; helper defs are inlined
// at their calls; module-level assignments are constants; other free names are compile-time
// params), resolves function aliases, module prefixes and keyword arguments, checks arity, and
// builds the canonical Expr through the constructors of expr.ts.
import { CompileError, locAt, type ErrorCode } from './errors.js';
import * as E from './expr.js';
import { CONSTANTS, knownFunctionNames, lookupFunction, nearest, stripPrefix, type FunctionInfo } from './functions.js';
import * as Q from './rational.js';
import { HP, evaluateHP, type HPNum } from './evaluate.js';
import { dependsOnInputs, nonnegOnDomain } from './domain.js';
import type { Expr, FunctionDef, InlinedCall, Loc, Node, Program, Rat, Statement } from './types.js';

export const INPUTS = ['cov12', 'var1', 'var2'] as const;

export interface LowerOptions {
  readonly params?: Readonly<Record<string, number>>;
  readonly filename?: string;
  /** Params kept as symbols (`param:name`), to differentiate in (compile's gradients). */
  readonly symbolic?: readonly string[];
  /** An activation f(x) (`# fn:`, fromActivation): its one input is x (lowered as cov12). */
  readonly activation?: boolean;
}

/** Lowers a parsed program to the core IR of its nngp map. */
export function lower(program: Program, source: string, options: LowerOptions = {}): Expr {
  return lowerProgram(program, source, options).expr;
}

/**
 * The lowered map (and a `def d_nngp_fn` beside it), the params the source never reads, and
 * those that replace a module-level constant of the same name (the param wins).
 */
export interface Lowered {
  readonly expr: Expr;
  readonly derivative?: Expr;
  /** The helper calls inlined into expr, innermost first (compose.ts finds kernel compositions in them). */
  readonly calls: readonly InlinedCall[];
  readonly unusedParams: readonly string[];
  readonly overriddenConstants: readonly string[];
}

export function lowerProgram(program: Program, source: string, options: LowerOptions = {}): Lowered {
  const l = new Lowering(
    program,
    source,
    options.filename ?? '<input>',
    options.params ?? {},
    options.symbolic ?? [],
    options.activation ? ['x'] : INPUTS,
  );
  const expr = l.map(program.def, program.body, program.result);
  const calls = l.takeCalls();
  const derivative = program.derivative
    ? l.map(program.derivative, program.derivative.body, program.derivative.result)
    : undefined;
  const overriddenConstants = program.globals
    .flatMap((g) => g.targets.map((t) => t.name))
    .filter((name, i, all) => all.indexOf(name) === i && l.readsParam(name));
  return { expr, ...(derivative ? { derivative } : {}), calls, unusedParams: l.unusedParams(), overriddenConstants };
}

/** Where names resolve: the def's locals, and the inputs (only in the map's own def). */
interface Scope {
  readonly locals: Map<string, Expr>;
  readonly inputs: ReadonlyMap<string, Expr>;
  /** A def's body, where an input may be rebound (cov12 = s * s * cov12), as Python allows. */
  readonly rebinds?: boolean;
  /** The local lambdas by name (`J = lambda t: ...`), each with the scope it was defined in. */
  readonly closures: Map<string, Closure>;
}

/** A local lambda and the scope it reads its free names from, as they are when it is called. */
interface Closure {
  readonly def: FunctionDef;
  readonly scope: Scope;
  /** Its parameters' defaults, evaluated where it was defined, when it was (as Python does). */
  readonly defaults: ReadonlyMap<string, Expr>;
}

/** A module-level name whose statement did not lower: an error only where something reads it. */
type GlobalValue = { readonly expr: Expr } | { readonly error: CompileError };

const COMPARISONS = ['lt', 'le', 'gt', 'ge', 'eq', 'ne'];
const MAX_CALL_DEPTH = 64;
/**
 * A number as the source means it: its exact decimal, except that a literal whose double is
 * pi·2^k (|k| ≤ 2: 3.141592653589793, 6.283185307179586, 1.5707963267948966, ...) is that multiple
 * of pi, as np.pi is pi. The double of pi is the only way to write pi in a float; read as the
 * rational it is, (3.141592653589793 - acos(rho))·rho no longer vanishes at rho = -1 (1.2e-16
 * short of pi: relu's map then misses 0 by 1.8e-17, and loses 44 bits at rho = -1 + 1e-9).
 */
export function literal(r: Rat): Expr {
  const x = Q.toNumber(r);
  for (let k = -2; k <= 2; k++)
    if (x === Math.PI * 2 ** k) return E.mul(E.num(Q.rat(2 ** Math.max(k, 0), 2 ** Math.max(-k, 0))), E.PI);
  return (fullPrecision(x) && namedConstant(x)) || E.num(r);
}

/** A double written with at least 15 significant digits (a constant pasted as printed, not a rounded decimal). */
const fullPrecision = (x: number) => x !== 0 && x.toExponential().replace(/^-|\.|e.*$/g, '').length >= 15;

/**
 * The constants sources paste as printed doubles: a literal of full precision within an ulp of
 * (p/q)·pi^a·2^(b/2), a in {-1, -1/2, 0, 1/2, 1}, b in {-1, 0, 1}, not both 0, p and q up to
 * MAX_HEIGHT, is that constant (2/pi = 0.6366197723675814, also as 2/np.pi an ulp from it;
 * 1/sqrt(2 pi) = 0.3989422804014327, sqrt(2/pi), 1/sqrt(2); leaky_relu's (1 - alpha)²/(2 pi)
 * pasted as 0.15598775972436663, 9801/(20000 pi)). Read as its rational, 0.25 c +
 * 0.6366197723675814 (gap^(1/2) + c asin rho)/4 misses 0 at rho = -1 by 1.3e-17 and loses 59 bits
 * near it; leaky_relu's pasted constant left its (q/pi)·angle term unsplit and the map without a
 * plain regime (3.3 times slower). Per form, p/q is the first convergent of the literal's ratio to
 * pi^a 2^(b/2) (its continued fraction) within an ulp; of the forms', the least p + q. An ulp is
 * 2^-53 to 2^-52 of the value and there are about 3e9 such fractions per form: a literal unrelated to pi
 * matches by chance about once in 10^5 (measured: 1 in 200 000 random doubles; with q ≤ 10^5
 * alone and numerators unbounded, 54).
 */
function namedConstant(x: number): Expr | undefined {
  const ulp = 2 ** (Math.floor(Math.log2(Math.abs(x))) - 52);
  let best: { p: number; q: number; a: number; b: number } | undefined;
  for (const a of [-1, -0.5, 0, 0.5, 1])
    for (const b of [-1, 0, 1]) {
      if (a === 0 && b === 0) continue;
      const unit = Math.PI ** a * Math.SQRT2 ** b;
      // The convergents h1/k1 of |x|/unit, in lowest terms.
      let [h0, h1, k0, k1] = [0, 1, 1, 0];
      let rest = Math.abs(x) / unit;
      for (let i = 0; i < 40; i++) {
        const digit = Math.floor(rest);
        [h0, h1] = [h1, digit * h1 + h0];
        [k0, k1] = [k1, digit * k1 + k0];
        if (k1 > MAX_HEIGHT || h1 > MAX_HEIGHT) break;
        // Within an ulp of the constant rounded either way (p/q times the unit, or times pi^a then 2^(b/2)).
        const near = (v: number) => Math.abs(v - Math.abs(x)) <= ulp;
        if (h1 > 0 && (near((h1 / k1) * unit) || near((h1 / k1) * Math.PI ** a * Math.SQRT2 ** b))) {
          if (!best || h1 + k1 < best.p + best.q) best = { p: h1, q: k1, a, b };
          break;
        }
        const frac = rest - digit;
        if (frac <= 0) break;
        rest = 1 / frac;
      }
    }
  if (!best) return undefined;
  const { p, q, a, b } = best;
  return E.mul(E.num(Q.rat(x < 0 ? -p : p, q)), E.pow(E.PI, E.num(a)), E.pow(E.num(2), E.num(Q.rat(b, 2))));
}

/** The largest numerator and denominator namedConstant reads. */
const MAX_HEIGHT = 100000;

/**
 * The arctangent's quadrant idiom, where(x >= 0, atan(y/x), atan(y/x) + pi) with y >= 0 on the
 * domain (or x < 0 with the branches swapped, 0 <= x, 0 > x: x = 0 takes the atan branch), read
 * as the angle it computes: atan2(y, x). Read
 * here, as written, since the identities rewrite atan bottom-up before a where could see it.
 * (At x = 0, atan(y/0) = pi/2 = atan2(y, 0) for y > 0; (0, 0) is the boundary the compiler
 * implements itself.)
 */
function quadrantAngle(cond: Expr, a: Expr, b: Expr): Expr | undefined {
  if (cond.k !== 'fn') return undefined;
  const [l, r] = cond.args as [Expr, Expr];
  const atLeast = cond.name === 'ge' || cond.name === 'gt';
  const atMost = cond.name === 'le' || cond.name === 'lt';
  if (!atLeast && !atMost) return undefined;
  // x = 0 must take the atan branch, as atan2(y, 0) = pi/2 does: x >= 0, x < 0 swapped, 0 <= x,
  // 0 > x swapped (with x > 0 the source gives atan(y/0) + pi = 3 pi/2 there).
  const zeroTakesAtan = E.isZero(r)
    ? cond.name === 'ge' || cond.name === 'lt'
    : cond.name === 'le' || cond.name === 'gt';
  if (!zeroTakesAtan) return undefined;
  // x and the branches taken where x >= 0 and where x < 0.
  const [x, pos, neg] = E.isZero(r)
    ? atLeast
      ? [l, a, b]
      : [l, b, a]
    : E.isZero(l)
      ? atLeast
        ? [r, b, a]
        : [r, a, b]
      : [undefined, a, b];
  if (!x || pos.k !== 'fn' || pos.name !== 'atan') return undefined;
  if (E.sub(neg, pos).key !== E.PI.key) return undefined;
  // atan's argument divides by x (y/x, not y alone), so that y need not vanish where x does.
  const q = pos.args[0]!;
  const over = E.pow(x, E.MINUS_ONE).key;
  if (!(q.k === 'mul' ? q.factors : [q]).some((f) => f.key === over)) return undefined;
  const y = E.mul(q, x);
  return nonnegOnDomain(y) ? E.fn('atan2', [y, x]) : undefined;
}

/** The standard normal cdf (scipy's and jax's ndtr): (1 + erf(x/sqrt(2)))/2. */
const normalCdf = (x: Expr) => E.mul(E.HALF, E.add(E.ONE, E.fn('erf', [E.mul(x, E.pow(E.num(2), E.num(-0.5)))])));

/** SELU's constants as jax.nn writes them (Klambauer et al. 2017). */
const SELU_ALPHA = Q.fromDecimal('1.6732632423543772848170429916717');
const SELU_SCALE = Q.fromDecimal('1.0507009873554804934193349852946');

class Lowering {
  private readonly usedParams = new Set<string>();
  private readonly constantValues = new Map<string, HPNum>();
  private readonly helpers: ReadonlyMap<string, FunctionDef>;
  private globals: Map<string, GlobalValue> | undefined;
  private readonly calling: string[] = [];
  /** The single-valued helper calls inlined since the last takeCalls, innermost first. */
  private calls: InlinedCall[] = [];

  constructor(
    private readonly program: Program,
    private readonly source: string,
    private readonly file: string,
    private readonly params: Readonly<Record<string, number>>,
    private readonly symbolic: readonly string[] = [],
    /** The input names of a map without a def: cov12, var1, var2; or x for an activation. */
    private readonly inputNames: readonly string[] = INPUTS,
  ) {
    for (const [k, v] of Object.entries(params)) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        this.fail(
          'E_PARAM',
          `param '${k}' must be a finite number, got ${typeof v === 'number' ? String(v) : typeof v}`,
        );
    }
    // A param may not stand for an input or a constant: `cov12=2` or `pi=3` would silently do nothing.
    const taken = new Set<string>([...this.inputNames, ...(program.def?.params.slice(0, 3).map((p) => p.name) ?? [])]);
    for (const k of Object.keys(params)) {
      const what = taken.has(k) ? 'an input' : CONSTANTS.has(k) ? 'a constant' : undefined;
      if (what) this.fail('E_PARAM', `param '${k}' names ${what} of nngp_fn; params are the other free names`);
    }
    this.helpers = new Map(program.helpers.map((d) => [d.name, d]));
  }

  private fail(code: ErrorCode, msg: string, loc?: Loc): never {
    throw new CompileError(code, msg, this.source, loc, this.file);
  }

  /** The calls recorded since the last take. */
  takeCalls(): InlinedCall[] {
    const taken = this.calls;
    this.calls = [];
    return taken;
  }

  /** Did the source read the param `name` (somewhere a module constant of that name would not have been read)? */
  readsParam(name: string): boolean {
    return this.usedParams.has(name);
  }

  unusedParams(): string[] {
    return Object.keys(this.params).filter((k) => !this.usedParams.has(k));
  }

  /** A map of (cov12, var1, var2): plain math (no def), or a def whose first three parameters are the inputs. */
  map(def: FunctionDef | undefined, body: readonly Statement[], result: Node): Expr {
    const inputs = new Map<string, Expr>();
    const locals = new Map<string, Expr>();
    if (def) {
      def.params.forEach((p, i) => {
        if (i < 3) inputs.set(p.name, E.sym(INPUTS[i]!));
        else locals.set(p.name, this.node(p.default!, this.globalScope()));
      });
    } else this.inputNames.forEach((n, i) => inputs.set(n, E.sym(INPUTS[i]!)));
    const scope: Scope = { locals, inputs, rebinds: !!def, closures: new Map() };
    this.statements(body, scope);
    if (result.type === 'tuple')
      this.fail(
        'E_UNSUPPORTED',
        `${def ? `def ${def.name}` : 'the map'} returns ${result.items.length} values; nngp_fn returns one`,
        result.items[0]?.loc ?? result.loc,
      );
    const expr = this.node(result, scope);
    if (expr.k === 'fn' && COMPARISONS.includes(expr.name))
      this.fail('E_SYNTAX', 'the result is a comparison, not a number: use where(cond, a, b)', result.loc);
    return expr;
  }

  private globalScope(): Scope {
    return { locals: new Map(), inputs: new Map(), closures: new Map() };
  }

  private statements(body: readonly Statement[], scope: Scope): void {
    for (const stmt of body) {
      if ('def' in stmt) {
        if (scope.inputs.has(stmt.def.name) && !scope.rebinds)
          this.fail('E_ASSIGN_INPUT', `cannot assign to the input '${stmt.def.name}'`, stmt.loc);
        scope.locals.delete(stmt.def.name);
        const defaults = new Map(
          stmt.def.params.filter((p) => p.default).map((p) => [p.name, this.node(p.default!, scope)] as const),
        );
        scope.closures.set(stmt.def.name, { def: stmt.def, scope, defaults });
        continue;
      }
      const call = stmt.value.type === 'call' ? stmt.value : undefined;
      const closure = call && stmt.targets.length > 1 ? scope.closures.get(call.callee) : undefined;
      const helper = call && stmt.targets.length > 1 ? (closure?.def ?? this.helpers.get(call.callee)) : undefined;
      const value =
        stmt.value.type === 'tuple'
          ? stmt.value.items.map((n) => this.node(n, scope))
          : helper && call // a, b = helper(...): the values of its tuple
            ? this.inlineValues(helper, call, scope, closure)
            : [this.node(stmt.value, scope)];
      if (stmt.targets.length !== value.length && (stmt.targets.length > 1 || value.length > 1))
        this.fail(
          'E_SYNTAX',
          `cannot unpack ${value.length} value${value.length === 1 ? '' : 's'} into ${stmt.targets.length} names`,
          stmt.loc,
        );
      stmt.targets.forEach((t, i) => {
        if (scope.inputs.has(t.name) && !scope.locals.has(t.name) && !scope.rebinds)
          this.fail('E_ASSIGN_INPUT', `cannot assign to the input '${t.name}'`, t.loc);
        let v = value[i]!;
        if (stmt.op !== '=') {
          const prev = scope.locals.get(t.name) ?? (scope.rebinds ? scope.inputs.get(t.name) : undefined);
          if (!prev) this.fail('E_UNBOUND', `'${t.name}' is used in '${stmt.op}' before it is assigned`, t.loc);
          v =
            stmt.op === '+='
              ? E.add(prev, v)
              : stmt.op === '-='
                ? E.sub(prev, v)
                : stmt.op === '*='
                  ? E.mul(prev, v)
                  : E.div(prev, v);
        }
        scope.locals.set(t.name, v);
        scope.closures.delete(t.name);
      });
    }
  }

  /**
   * The module-level assignments, lowered in order the first time a def reads one. A statement
   * that does not lower (`x = random.normal(key, shape)` carried along by a paste) binds its
   * names to its error, raised only if something reads them.
   */
  private global(name: string): Expr | undefined {
    if (!this.globals) {
      this.globals = new Map();
      const scope = this.globalScope();
      for (const stmt of this.program.globals) {
        try {
          this.statements([stmt], scope);
          for (const t of stmt.targets) this.globals.set(t.name, { expr: scope.locals.get(t.name)! });
        } catch (e) {
          if (!(e instanceof CompileError)) throw e;
          for (const t of stmt.targets) {
            this.globals.set(t.name, { error: e });
            scope.locals.delete(t.name);
          }
        }
      }
    }
    const g = this.globals.get(name);
    if (g && 'error' in g) throw g.error;
    return g?.expr;
  }

  private node(n: Node, scope: Scope): Expr {
    switch (n.type) {
      case 'number':
        if (!Number.isFinite(Number(n.text.replace(/_/g, ''))))
          this.fail('E_SYNTAX', `number '${n.text}' is out of the range of doubles`, n.loc);
        return literal(Q.fromDecimal(n.text));
      case 'name':
        return this.name(n.name, n.loc, scope);
      case 'unary':
        return n.op === '-' ? E.neg(this.node(n.arg, scope)) : this.node(n.arg, scope);
      case 'tuple':
        return this.fail('E_SYNTAX', 'a tuple is not a number', n.loc);
      case 'binary':
        return this.checkConstant(this.binary(n, scope), spanOf(n, this.source));
      case 'call':
        return this.checkConstant(this.call(n, scope), n.loc);
    }
  }

  /**
   * A constant subexpression outside the real domain (sqrt(-1), log(0), acos(2)) is a mistake
   * in the source, never a NaN or an infinity in the emitted code.
   */
  private checkConstant(e: Expr, loc: Loc): Expr {
    if (dependsOnInputs(e)) return e;
    let v: HPNum | undefined;
    try {
      v = evaluateHP(e, { cov12: new HP(0), var1: new HP(1), var2: new HP(1) }, this.constantValues);
    } catch {
      v = undefined;
    }
    if (v === undefined || v.isNaN() || !v.isFinite()) {
      const text = this.source.slice(loc.offset, loc.offset + loc.length);
      this.fail('E_DOMAIN', `'${text}' is ${v !== undefined && !v.isNaN() ? 'infinite' : 'not a real number'}`, loc);
    }
    return e;
  }

  private binary(n: Extract<Node, { type: 'binary' }>, scope: Scope): Expr {
    const arithmetic = ['+', '-', '*', '/', '^'].includes(n.op);
    // A comparison used as a number is Python's bool: 1 where it holds, else 0 (x * (x > 0)).
    const operand = (m: Node) => {
      const e = this.node(m, scope);
      return arithmetic && e.k === 'fn' && COMPARISONS.includes(e.name) ? E.fn('where', [e, E.ONE, E.ZERO]) : e;
    };
    const a = operand(n.left);
    const b = operand(n.right);
    switch (n.op) {
      case '+':
        return E.add(a, b);
      case '-':
        return E.sub(a, b);
      case '*':
        return E.mul(a, b);
      case '/':
        if (E.isZero(b)) this.fail('E_DOMAIN', 'division by zero', n.loc);
        return E.div(a, b);
      case '^':
        if (E.isZero(a) && b.k === 'num' && b.v.n < 0n) this.fail('E_DOMAIN', 'zero to a negative power', n.loc);
        return E.pow(a, b);
      case '<':
        return E.fn('lt', [a, b]);
      case '<=':
        return E.fn('le', [a, b]);
      case '>':
        return E.fn('gt', [a, b]);
      case '>=':
        return E.fn('ge', [a, b]);
      case '==':
        return E.fn('eq', [a, b]);
      case '!=':
        return E.fn('ne', [a, b]);
    }
  }

  private name(raw: string, loc: Loc, scope: Scope): Expr {
    if (!scope.locals.has(raw) && scope.closures.has(raw))
      this.fail('E_UNSUPPORTED', `'${raw}' is a function here (a lambda), not a value`, loc);
    const local = scope.locals.get(raw) ?? scope.inputs.get(raw);
    if (local) return local;
    const name = stripPrefix(raw);
    if (name !== raw) {
      if (name === 'pi') return E.PI;
      if (name === 'tau') return E.mul(E.num(2), E.PI); // math.tau
      if (name === 'e') return E.fn('exp', [E.ONE]);
      this.fail('E_UNBOUND', `unknown constant '${raw}'`, loc);
    }
    if (Object.prototype.hasOwnProperty.call(this.params, raw)) {
      this.usedParams.add(raw);
      if (this.symbolic.includes(raw)) return E.sym(`param:${raw}`);
      return literal(Q.fromShortestDecimal(this.params[raw]!)); // 0.8 is 4/5, as the literal
    }
    const global = this.global(raw);
    if (global) return global;
    if (raw === 'True' || raw === 'False') return raw === 'True' ? E.ONE : E.ZERO; // Python's bools are 1 and 0
    if (raw === 'pi') return E.PI;
    if (raw === 'e') return E.fn('exp', [E.ONE]);
    const candidates = [
      ...this.inputNames,
      ...scope.inputs.keys(),
      ...scope.locals.keys(),
      ...Object.keys(this.params),
    ];
    const hint = nearest(raw, candidates);
    const fnHint = lookupFunction(name) || this.helpers.has(raw) ? ` ('${raw}' is a function; call it)` : '';
    return this.fail(
      'E_UNBOUND',
      `unbound name '${raw}'${fnHint}${hint ? `; did you mean '${hint}'?` : ''} (a constant? give it a value: params { ${raw}: 1 } in the API, --params ${raw}=1 on the command line)`,
      loc,
    );
  }

  private call(n: Extract<Node, { type: 'call' }>, scope: Scope): Expr {
    const closure = scope.closures.get(n.callee);
    if (closure) return this.inline(closure.def, n, scope, closure);
    if (scope.locals.has(n.callee) || scope.inputs.has(n.callee))
      this.fail('E_UNSUPPORTED', `'${n.callee}' is a value here, not a function`, n.calleeLoc);
    const helper = this.helpers.get(n.callee);
    if (helper) return this.inline(helper, n, scope);
    const name = stripPrefix(n.callee);
    const info = lookupFunction(name);
    if (!info) {
      const hint = nearest(name, [...knownFunctionNames(), ...this.helpers.keys()]);
      this.fail(
        'E_UNKNOWN_FUNCTION',
        `unknown function '${n.callee}'${hint ? `; did you mean '${hint}'?` : ''}`,
        n.calleeLoc,
      );
    }
    const nodes = this.builtinArguments(n, name, info);
    if (info.name === 'clip') return this.clip(nodes, scope, n.loc);
    if (info.name === 'gelu') return this.gelu(nodes, scope);
    const args = nodes.map((a) => this.node(a, scope));
    switch (info.name) {
      case 'sqrt':
        return E.pow(args[0]!, E.HALF);
      case 'square':
        return E.pow(args[0]!, E.num(2));
      case 'reciprocal':
        return E.pow(args[0]!, E.MINUS_ONE);
      case 'rsqrt':
        return E.pow(args[0]!, E.num(-0.5));
      case '_sqrt': // sqrt(maximum(x, tol)), tol = 0 by default
        return E.pow(E.fn('max', [args[0]!, args[1] ?? E.ZERO]), E.HALF);
      case '_arctan2': // the angle; fill_zero is its value at (0, 0), where the compiler takes pi/2 itself
        if (args[2] && args[2].key !== E.mul(E.HALF, E.PI).key)
          this.fail(
            'E_UNSUPPORTED',
            'fill_zero other than pi/2 is not supported: the angle at (0, 0) is taken as pi/2',
            nodes[2]!.loc,
          );
        return E.fn('atan2', [args[0]!, args[1]!]);
      case 'hypot':
        return E.pow(E.add(E.pow(args[0]!, E.num(2)), E.pow(args[1]!, E.num(2))), E.HALF);
      case 'cbrt': // defined for negative x too: sign(x) |x|^(1/3)
        return E.mul(E.fn('sign', [args[0]!]), E.pow(E.fn('abs', [args[0]!]), E.num(Q.rat(1, 3))));
      case 'log2':
      case 'log10':
        return E.div(E.fn('log', [args[0]!]), E.fn('log', [E.num(info.name === 'log2' ? 2 : 10)]));
      case 'exp2':
        return E.fn('exp', [E.mul(args[0]!, E.fn('log', [E.num(2)]))]);
      case 'add':
        return E.add(args[0]!, args[1]!);
      case 'subtract':
        return E.sub(args[0]!, args[1]!);
      case 'multiply':
        return E.mul(args[0]!, args[1]!);
      case 'divide':
        if (E.isZero(args[1]!)) this.fail('E_DOMAIN', 'division by zero', nodes[1]!.loc);
        return E.div(args[0]!, args[1]!);
      case 'negative':
        return E.neg(args[0]!);
      case 'float64': // a dtype cast: the source computes in doubles already
        return args[0]!;
      case 'relu':
        return E.fn('max', [args[0]!, E.ZERO]);
      case 'leaky_relu': // where(x >= 0, x, negative_slope x), negative_slope = 0.01 by default (jax.nn)
        return E.fn('where', [
          E.fn('ge', [args[0]!, E.ZERO]),
          args[0]!,
          E.mul(args[1] ?? E.num(Q.rat(1, 100)), args[0]!),
        ]);
      case 'heaviside':
        return E.fn('where', [
          E.fn('gt', [args[0]!, E.ZERO]),
          E.ONE,
          E.fn('where', [E.fn('lt', [args[0]!, E.ZERO]), E.ZERO, args[1]!]),
        ]);
      case 'ndtr':
        return normalCdf(args[0]!);
      case 'sigmoid': // 1 / (1 + exp(-u))
        return E.pow(E.add(E.ONE, E.fn('exp', [E.neg(args[0]!)])), E.MINUS_ONE);
      case 'softplus': // log(1 + exp(u))
        return E.fn('log', [E.add(E.ONE, E.fn('exp', [args[0]!]))]);
      case 'elu': // where(u > 0, u, alpha (exp(u) - 1)), alpha = 1 by default
      case 'celu': // where(u > 0, u, alpha (exp(u / alpha) - 1))
      case 'selu': {
        const u = args[0]!;
        const alpha = info.name === 'selu' ? E.num(SELU_ALPHA) : (args[1] ?? E.ONE);
        const inner = info.name === 'celu' ? E.div(u, alpha) : u;
        const elu = E.fn('where', [E.fn('gt', [u, E.ZERO]), u, E.mul(alpha, E.sub(E.fn('exp', [inner]), E.ONE))]);
        return info.name === 'selu' ? E.mul(E.num(SELU_SCALE), elu) : elu;
      }
      case 'silu': // u / (1 + exp(-u))
        return E.mul(args[0]!, E.pow(E.add(E.ONE, E.fn('exp', [E.neg(args[0]!)])), E.MINUS_ONE));
      case 'pow':
        return E.pow(args[0]!, args[1]!);
      case 'where': {
        const c = args[0]!;
        if (!(c.k === 'fn' && COMPARISONS.includes(c.name)))
          this.fail('E_SYNTAX', 'the first argument of where must be a comparison such as x > 0', nodes[0]!.loc);
        return quadrantAngle(c, args[1]!, args[2]!) ?? E.fn('where', args);
      }
      default:
        return E.fn(info.name as Parameters<typeof E.fn>[0], args);
    }
  }

  /** clip(x, lo, hi): a bound given as None, or left out (clip(x, 0)), is no bound (NumPy's). */
  private clip(nodes: readonly Node[], scope: Scope, loc: Loc): Expr {
    const isNone = (a: Node | undefined) => a === undefined || (a.type === 'name' && a.name === 'None');
    const [x, lo, hi] = [this.node(nodes[0]!, scope), nodes[1], nodes[2]];
    if (isNone(lo) && isNone(hi)) this.fail('E_ARITY', 'clip needs a lower or an upper bound (both are None)', loc);
    if (isNone(hi)) return E.fn('max', [x, this.node(lo!, scope)]);
    if (isNone(lo)) return E.fn('min', [x, this.node(hi!, scope)]);
    return E.fn('clip', [x, this.node(lo!, scope), this.node(hi!, scope)]);
  }

  /**
   * jax.nn.gelu(x, approximate=True): x Phi(x) with approximate=False, else (jax's default) the
   * tanh approximation x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))/2 as jax computes it.
   */
  private gelu(nodes: readonly Node[], scope: Scope): Expr {
    const x = this.node(nodes[0]!, scope);
    const flag = nodes[1];
    const exact =
      flag !== undefined &&
      ((flag.type === 'name' && flag.name === 'False') || (flag.type === 'number' && Number(flag.text) === 0));
    if (flag !== undefined && !exact && !(flag.type === 'name' && flag.name === 'True') && !(flag.type === 'number'))
      this.fail('E_SYNTAX', 'approximate must be True or False', flag.loc);
    if (exact) return E.mul(x, normalCdf(x));
    const inner = E.mul(
      E.pow(E.div(E.num(2), E.PI), E.HALF),
      E.add(x, E.mul(literal(Q.fromDecimal('0.044715')), E.pow(x, E.num(3)))),
    );
    return E.mul(E.HALF, x, E.add(E.ONE, E.fn('tanh', [inner])));
  }

  /** A builtin's arguments in positional order, keyword arguments placed by their NumPy names. */
  private builtinArguments(n: Extract<Node, { type: 'call' }>, name: string, info: FunctionInfo): Node[] {
    const [lo, hi] = info.arity;
    const nodes: (Node | undefined)[] = [...n.args];
    for (const k of n.keywords) {
      const at = info.keywords.findIndex((names) => names.includes(k.name));
      if (at < 0) {
        const known = info.keywords.map((names) => names[0]).join(', ');
        this.fail('E_ARITY', `${name} has no argument '${k.name}'${known ? ` (its arguments: ${known})` : ''}`, k.loc);
      }
      if (nodes[at] !== undefined) this.fail('E_ARITY', `${name} got argument '${k.name}' twice`, k.loc);
      nodes[at] = k.value;
    }
    const count = nodes.length;
    if (count < lo || count > hi || nodes.some((a) => a === undefined)) {
      const want = lo === hi ? `${lo}` : `${lo} to ${hi}`;
      this.fail(
        'E_ARITY',
        `${name} takes ${want} argument${hi === 1 ? '' : 's'}, got ${nodes.filter(Boolean).length}`,
        n.loc,
      );
    }
    return nodes as Node[];
  }

  /**
   * A call of a def of the file, its body lowered with its parameters bound to the arguments: its
   * one value (a helper returning a tuple is unpacked by assignment: statements()).
   */
  private inline(def: FunctionDef, n: Extract<Node, { type: 'call' }>, scope: Scope, closure?: Closure): Expr {
    const values = this.inlineValues(def, n, scope, closure);
    if (values.length !== 1)
      this.fail(
        'E_UNSUPPORTED',
        `def ${def.name} returns ${values.length} values, here used as one: unpack them (${['a', 'b', 'c', 'd'].slice(0, Math.min(values.length, 4)).join(', ')}${values.length > 4 ? ', ...' : ''} = ${def.name}(...))`,
        n.calleeLoc,
      );
    return values[0]!;
  }

  /** The values a helper returns for the call n: one, or a tuple's items. */
  private inlineValues(def: FunctionDef, n: Extract<Node, { type: 'call' }>, scope: Scope, closure?: Closure): Expr[] {
    if (this.calling.includes(def.name))
      this.fail('E_UNSUPPORTED', `def ${def.name} calls itself: recursion is not supported`, n.calleeLoc);
    if (this.calling.length >= MAX_CALL_DEPTH)
      this.fail('E_TOO_LARGE', `defs call each other more than ${MAX_CALL_DEPTH} deep`, n.calleeLoc);
    const names = def.params.map((p) => p.name);
    if (n.args.length > names.length)
      this.fail(
        'E_ARITY',
        `def ${def.name} takes ${names.length} argument${names.length === 1 ? '' : 's'} (${names.join(', ')}), got ${n.args.length}`,
        n.loc,
      );
    const bound: (Node | undefined)[] = [...n.args];
    for (const k of n.keywords) {
      const at = names.indexOf(k.name);
      if (at < 0) this.fail('E_ARITY', `def ${def.name} has no parameter '${k.name}' (${names.join(', ')})`, k.loc);
      if (bound[at] !== undefined) this.fail('E_ARITY', `def ${def.name} got argument '${k.name}' twice`, k.loc);
      bound[at] = k.value;
    }
    const locals = new Map<string, Expr>();
    def.params.forEach((p, i) => {
      const arg = bound[i];
      if (arg) locals.set(p.name, this.node(arg, scope));
      else if (closure?.defaults.has(p.name)) locals.set(p.name, closure.defaults.get(p.name)!);
      else if (p.default) locals.set(p.name, this.node(p.default, this.globalScope()));
      else this.fail('E_ARITY', `def ${def.name} is missing its argument '${p.name}'`, n.loc);
    });
    const values = this.body(def, locals, closure);
    if (values.length === 1) {
      // Recorded with a way to lower the body again, some parameters bound to other values, in
      // the defining scope as it is now (a lambda's late binding: the call's, not the def's end).
      const args = def.params.map((p) => locals.get(p.name)!);
      const at = closure && {
        ...closure,
        scope: { ...closure.scope, locals: new Map(closure.scope.locals), closures: new Map(closure.scope.closures) },
      };
      const again = (bindings: ReadonlyMap<string, Expr>) => {
        const rebound = new Map(def.params.map((p, i) => [p.name, bindings.get(p.name) ?? args[i]!] as const));
        const saved = this.calls;
        try {
          return this.body(def, rebound, at)[0]!;
        } finally {
          this.calls = saved;
        }
      };
      this.calls.push({ params: names, args, result: values[0]!, again });
    }
    return values;
  }

  /** A def's body lowered with its parameters bound (locals): its returned values. */
  private body(def: FunctionDef, locals: Map<string, Expr>, closure?: Closure) {
    const defining = closure?.scope;
    this.calling.push(def.name);
    try {
      // A local lambda reads the names of the scope it was defined in, as they are at the call
      // (its parameters hide them).
      const closures = new Map(defining ? [...defining.closures].filter(([k]) => !locals.has(k)) : []);
      const inner: Scope = defining
        ? { locals: new Map([...defining.locals, ...locals]), inputs: defining.inputs, closures }
        : { locals, inputs: new Map<string, Expr>(), closures };
      this.statements(def.body, inner);
      return def.result.type === 'tuple'
        ? def.result.items.map((item) => this.node(item, inner))
        : [this.node(def.result, inner)];
    } finally {
      this.calling.pop();
    }
  }
}

/** The source span of a whole binary expression (its node's loc is the operator), brackets balanced. */
function spanOf(n: Node, source: string): Loc {
  const first = (m: Node): Loc => (m.type === 'binary' ? first(m.left) : m.loc);
  const last = (m: Node): Loc => (m.type === 'binary' ? last(m.right) : m.loc);
  let from = first(n).offset;
  const l = last(n);
  let to = l.offset + l.length;
  // Unmatched ')' in the span need a '(' before it; unmatched '(' a ')' after it.
  let d = 0;
  let min = 0;
  for (const ch of source.slice(from, to)) {
    d += ch === '(' ? 1 : ch === ')' ? -1 : 0;
    min = Math.min(min, d);
  }
  for (let k = 0; k < -min && from > 0; k++) from = Math.max(0, source.lastIndexOf('(', from - 1));
  for (let k = 0; k < d - min && to < source.length; k++) to = source.indexOf(')', to) + 1 || source.length;
  return locAt(source, from, to - from);
}
