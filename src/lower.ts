// The lower pass: surface AST → core IR. Resolves names (def parameters map positionally to
// cov12, var1, var2; assignments are inlined in order; other free names are compile-time
// params), resolves function aliases and module prefixes, checks arity, and builds the
// canonical Expr through the constructors of expr.ts.
import { CompileError } from './errors.js';
import * as E from './expr.js';
import { CONSTANTS, knownFunctionNames, lookupFunction, nearest, stripPrefix } from './functions.js';
import * as Q from './rational.js';
import type { Expr, Loc, Node, Program } from './types.js';

export const INPUTS = ['cov12', 'var1', 'var2'] as const;

export interface LowerOptions {
  readonly params?: Readonly<Record<string, number>>;
  readonly filename?: string;
}

/** Lowers a parsed program to the core IR of its nngp map. */
export function lower(program: Program, source: string, options: LowerOptions = {}): Expr {
  const file = options.filename ?? '<input>';
  const fail = (code: ConstructorParameters<typeof CompileError>[0], msg: string, loc: Loc): never => {
    throw new CompileError(code, msg, source, loc, file);
  };
  const params = options.params ?? {};
  for (const [k, v] of Object.entries(params)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new CompileError(
        'E_PARAM',
        `param '${k}' must be a finite number, got ${typeof v === 'number' ? String(v) : typeof v}`,
        source,
        undefined,
        file,
      );
    }
  }

  const env = new Map<string, Expr>();
  const inputNames = new Map<string, Expr>();
  if (program.def) {
    program.def.params.forEach((p, i) => {
      const input = E.sym(INPUTS[i]!);
      if (inputNames.has(p.name)) fail('E_SYNTAX', `duplicate parameter '${p.name}'`, p.loc);
      inputNames.set(p.name, input);
    });
  } else {
    for (const n of INPUTS) inputNames.set(n, E.sym(n));
  }

  const lowerNode = (n: Node): Expr => {
    switch (n.type) {
      case 'number':
        if (!Number.isFinite(Number(n.text.replace(/_/g, ''))))
          fail('E_SYNTAX', `number '${n.text}' is out of the range of doubles`, n.loc);
        return E.num(Q.fromDecimal(n.text));
      case 'name':
        return lowerName(n.name, n.loc);
      case 'unary':
        return n.op === '-' ? E.neg(lowerNode(n.arg)) : lowerNode(n.arg);
      case 'tuple':
        return fail('E_SYNTAX', 'a tuple is not a number', n.loc);
      case 'binary': {
        const a = lowerNode(n.left);
        const b = lowerNode(n.right);
        switch (n.op) {
          case '+':
            return E.add(a, b);
          case '-':
            return E.sub(a, b);
          case '*':
            return E.mul(a, b);
          case '/':
            if (E.isZero(b)) fail('E_SYNTAX', 'division by zero', n.loc);
            return E.div(a, b);
          case '^':
            if (E.isZero(a) && b.k === 'num' && b.v.n < 0n) fail('E_SYNTAX', 'zero to a negative power', n.loc);
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
      // falls through (unreachable)
      case 'call':
        return lowerCall(n as Extract<Node, { type: 'call' }>);
    }
  };

  const lowerName = (raw: string, loc: Loc): Expr => {
    const local = env.get(raw) ?? inputNames.get(raw);
    if (local) return local;
    const name = stripPrefix(raw);
    if (name !== raw || CONSTANTS.has(name)) {
      if (name === 'pi') return E.PI;
      if (name === 'e') return E.fn('exp', [E.ONE]);
      if (name !== raw) fail('E_UNBOUND', `unknown constant '${raw}'`, loc);
    }
    if (Object.prototype.hasOwnProperty.call(params, raw)) return E.num(Q.fromShortestDecimal(params[raw]!)); // 0.8 is 4/5, as the literal
    const candidates = [...INPUTS, ...env.keys(), ...Object.keys(params)];
    const hint = nearest(raw, candidates);
    const fnHint = lookupFunction(name) ? ` ('${raw}' is a function; call it)` : '';
    return fail(
      'E_UNBOUND',
      `unbound name '${raw}'${fnHint}${hint ? `; did you mean '${hint}'?` : ''} (give constants with params, e.g. --params ${raw}=1)`,
      loc,
    );
  };

  const lowerCall = (n: Extract<Node, { type: 'call' }>): Expr => {
    const name = stripPrefix(n.callee);
    if (env.has(n.callee) || inputNames.has(n.callee)) {
      fail(
        'E_UNSUPPORTED',
        `calls of user functions are not supported: '${n.callee}' is a value here; inline the helper`,
        n.calleeLoc,
      );
    }
    const info = lookupFunction(name);
    if (!info) {
      const hint = nearest(name, knownFunctionNames());
      fail(
        'E_UNKNOWN_FUNCTION',
        `unknown function '${n.callee}'${hint ? `; did you mean '${hint}'?` : ''}`,
        n.calleeLoc,
      );
    }
    const [lo, hi] = info!.arity;
    if (n.args.length < lo || n.args.length > hi) {
      const want = lo === hi ? `${lo}` : `${lo} to ${hi}`;
      fail('E_ARITY', `${name} takes ${want} argument${hi === 1 ? '' : 's'}, got ${n.args.length}`, n.loc);
    }
    const args = n.args.map(lowerNode);
    switch (info!.name) {
      case 'sqrt':
        return E.pow(args[0]!, E.HALF);
      case 'square':
        return E.pow(args[0]!, E.num(2));
      case 'pow':
        return E.pow(args[0]!, args[1]!);
      case 'where': {
        const c = args[0]!;
        if (!(c.k === 'fn' && ['lt', 'le', 'gt', 'ge', 'eq', 'ne'].includes(c.name))) {
          fail('E_SYNTAX', 'the first argument of where must be a comparison such as x > 0', n.args[0]!.loc);
        }
        return E.fn('where', args);
      }
      default:
        return E.fn(info!.name as Parameters<typeof E.fn>[0], args);
    }
  };

  for (const stmt of program.body) {
    let value: Expr[];
    if (stmt.value.type === 'tuple') value = stmt.value.items.map(lowerNode);
    else value = [lowerNode(stmt.value)];
    if (stmt.targets.length !== value.length) {
      if (stmt.targets.length > 1 || value.length > 1)
        fail(
          'E_SYNTAX',
          `cannot unpack ${value.length} value${value.length === 1 ? '' : 's'} into ${stmt.targets.length} names`,
          stmt.loc,
        );
    }
    stmt.targets.forEach((t, i) => {
      if (inputNames.has(t.name) && !env.has(t.name))
        fail('E_ASSIGN_INPUT', `cannot assign to the input '${t.name}'`, t.loc);
      if (CONSTANTS.has(t.name)) fail('E_ASSIGN_INPUT', `cannot assign to the constant '${t.name}'`, t.loc);
      let v = value[i]!;
      if (stmt.op !== '=') {
        const prev = env.get(t.name);
        if (!prev) fail('E_UNBOUND', `'${t.name}' is used in '${stmt.op}' before it is assigned`, t.loc);
        v =
          stmt.op === '+='
            ? E.add(prev!, v)
            : stmt.op === '-='
              ? E.sub(prev!, v)
              : stmt.op === '*='
                ? E.mul(prev!, v)
                : E.div(prev!, v);
      }
      env.set(t.name, v);
    });
  }
  const result = lowerNode(program.result);
  if (result.k === 'fn' && ['lt', 'le', 'gt', 'ge', 'eq', 'ne'].includes(result.name)) {
    fail('E_SYNTAX', 'the result is a comparison, not a number: use where(cond, a, b)', program.result.loc);
  }
  return result;
}
