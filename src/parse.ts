// The parse pass: source text → surface AST (Program). A small direct lexer and recursive-descent
// parser for the grammar in grammar/nngp.ebnf; every node carries its source location.
import { CompileError, locAt } from './errors.js';
import { Lexer, PYTHON_KEYWORDS } from './lex.js';
import { ExpressionParser } from './expression-parser.js';
import type { Assignment, FunctionDef, Loc, Node, Program, Statement } from './types.js';

export const MAX_SOURCE_CHARS = 100_000;

class Parser extends ExpressionParser {
  private endStatement(): void {
    if (this.is(';')) {
      this.next();
      return;
    }
    if (this.type() === 'name' && ['if', 'else'].includes(this.t.text))
      this.fail('E_UNSUPPORTED', "conditional expressions ('x if c else y') are not supported: use where(cond, a, b)");
    if (this.type() === 'name' && ['and', 'or', 'not', 'in', 'is'].includes(this.t.text))
      this.fail('E_UNSUPPORTED', `'${this.t.text}' is not supported: conditions are single comparisons inside where()`);
    this.rejectForeignOperator();
    if (this.type() !== 'newline') this.fail('E_SYNTAX', `expected end of line, found ${this.describe(this.t)}`);
    this.next();
  }

  program(): Program {
    this.skipNewlines();
    if (this.type() === 'eof') this.fail('E_SYNTAX', 'empty source: expected an expression or a def');
    if (this.isPythonModule()) {
      const module = this.pythonModule();
      if (module) return module;
      this.i = 0; // lambdas beside a result expression: plain math, whose lambda is then an error
      this.skipNewlines();
    }
    const body: Assignment[] = [];
    for (;;) {
      this.skipNewlines();
      if (this.type() === 'eof') break;
      if (this.isName('import') || this.isName('from')) {
        this.skipLine(); // `import jax.numpy as jnp`: prefixes are understood without it
        continue;
      }
      this.rejectKeyword();
      const stmt = this.statement();
      this.endStatement();
      if ('result' in stmt) {
        this.skipNewlines();
        if (this.type() !== 'eof')
          this.fail(
            'E_SYNTAX',
            `unexpected ${this.describe(this.t)} after the result expression: the last line must be the result`,
          );
        return { form: 'math', body, result: stmt.result, helpers: [], globals: [] };
      }
      body.push(stmt);
    }
    const last = body[body.length - 1];
    return this.fail(
      'E_NO_RETURN',
      'no result expression: the last line must be an expression in cov12, var1, var2',
      last?.loc,
    );
  }

  /** Python, not plain math: a statement starts with def, or is a lambda (named or not). */
  private isPythonModule(): boolean {
    return this.toks.some((t, j) => {
      const prev = this.toks[j - 1];
      const atStart = !prev || prev.type === 'newline' || (prev.type === 'op' && prev.text === ';');
      return atStart && (this.isLambdaAt(j) || (t.type === 'name' && t.text === 'def'));
    });
  }

  /** `NAME = lambda ...`, `NAME: type = lambda ...` or `lambda ...` at token j. */
  private isLambdaAt(j: number): boolean {
    const t = this.toks[j];
    if (t?.type !== 'name') return false;
    if (t.text === 'lambda') return true;
    const eq = this.annotatedEqualsAt(j + 1);
    const kw = this.toks[eq + 1];
    return this.toks[eq]?.type === 'op' && this.toks[eq]!.text === '=' && kw?.type === 'name' && kw.text === 'lambda';
  }

  /** The token after NAME's annotation (`: type`), if one starts at j: the '=' of an annotated assignment. */
  private annotatedEqualsAt(j: number): number {
    const colon = this.toks[j];
    if (colon?.type !== 'op' || colon.text !== ':') return j;
    const saved = this.i;
    this.i = j + 1;
    this.skipType();
    const end = this.i;
    this.i = saved;
    return end;
  }

  private isLambda(): boolean {
    return this.isLambdaAt(this.i);
  }

  /**
   * `nngp_fn = lambda cov12, var1, var2: expr` (or an unnamed `lambda ...: expr`, named
   * `<lambda>`): a def of one return.
   */
  private lambdaDef(): FunctionDef {
    const loc = this.t.loc;
    let name = '<lambda>';
    if (!this.isName('lambda')) {
      name = this.next().text;
      const eq = this.annotatedEqualsAt(this.i); // past `: type`, if annotated
      if (eq === this.i + 1) this.fail('E_SYNTAX', `expected a type after '${name}:'`, this.toks[eq]!.loc);
      this.i = eq;
      this.next(); // =
    }
    this.next(); // lambda
    const params: { name: string; loc: Loc; default?: Node }[] = [];
    while (!this.is(':')) {
      if (this.type() !== 'name') this.fail('E_SYNTAX', `expected a parameter name, found ${this.describe(this.t)}`);
      const param: { name: string; loc: Loc; default?: Node } = { name: this.t.text, loc: this.t.loc };
      this.next();
      if (this.is('=')) {
        this.next();
        param.default = this.comparison();
      }
      if (params.some((p) => p.name === param.name))
        this.fail('E_SYNTAX', `duplicate parameter '${param.name}'`, param.loc);
      params.push(param);
      if (this.is(',')) this.next();
      else if (!this.is(':')) this.fail('E_SYNTAX', `expected ',' or ':', found ${this.describe(this.t)}`);
    }
    this.next();
    const result = this.comparison();
    this.endStatement();
    return { name, params, body: [], result, loc };
  }

  /** Skips the rest of the current line (a logical line: brackets may span several). */
  private skipLine(): void {
    while (this.type() !== 'newline' && this.type() !== 'eof') this.next();
  }

  /** Skips the lines indented deeper than `column` (the body of a def that failed to parse). */
  private skipBlock(column: number): void {
    for (;;) {
      this.skipLine();
      this.skipNewlines();
      if (this.type() === 'eof' || this.t.loc.column <= column) return;
    }
  }

  /**
   * A pasted Python module: imports and decorators are skipped, defs collected, module-level
   * assignments kept as constants the defs may read; any other statement (a layer built with
   * stax.Elementwise, a print) is context the paste carried along. Something that does not
   * parse is an error only if the map reaches it.
   */
  private pythonModule(): Program | undefined {
    const defs: FunctionDef[] = [];
    const lambdas = new Set<FunctionDef>();
    let bareExpression = false;
    const globals: Assignment[] = [];
    const brokenDefs = new Map<string, CompileError>();
    const brokenGlobals = new Map<string, CompileError>();
    for (;;) {
      this.skipNewlines();
      if (this.type() === 'eof') break;
      if (this.isName('import') || this.isName('from') || this.is('@') || this.type() === 'string') {
        this.skipLine();
        continue;
      }
      const start = this.i;
      if (this.isLambda()) {
        try {
          const lambda = this.lambdaDef();
          lambdas.add(lambda);
          defs.push(lambda);
        } catch (e) {
          if (!(e instanceof CompileError)) throw e;
          const head = this.toks[start]!;
          const name = head.type === 'name' && head.text !== 'lambda' ? head.text : '<lambda>';
          if (!brokenDefs.has(name)) brokenDefs.set(name, e);
          this.i = start;
          this.skipLine();
        }
        continue;
      }
      if (this.isName('def')) {
        try {
          defs.push(this.functionDef());
        } catch (e) {
          if (!(e instanceof CompileError)) throw e;
          const name = this.toks[start + 1]?.type === 'name' ? this.toks[start + 1]!.text : '';
          if (!brokenDefs.has(name)) brokenDefs.set(name, e);
          this.i = start;
          this.skipBlock(this.t.loc.column);
        }
        continue;
      }
      try {
        const stmt = this.statement();
        this.endStatement();
        if (!('result' in stmt)) globals.push(stmt);
        else bareExpression = true;
      } catch (e) {
        if (!(e instanceof CompileError)) throw e;
        this.i = start;
        for (const name of this.assignedNames()) if (!brokenGlobals.has(name)) brokenGlobals.set(name, e);
        this.i = start;
        this.skipLine();
      }
    }
    // Only lambdas, beside an expression line: the expression is the map (plain math), not context.
    if (bareExpression && defs.every((d) => lambdas.has(d)) && ![...brokenDefs.keys()].some((n) => n === 'nngp_fn'))
      return undefined;
    // A name defined twice is its last definition, as in Python.
    const latest = defs.filter((d, i) => !defs.slice(i + 1).some((later) => later.name === d.name));
    defs.splice(0, defs.length, ...latest);
    const map = this.mapDef(defs, brokenDefs);
    const derivative = defs.find((d) => d.name === 'd_nngp_fn' && d !== map);
    // What the map and its derivative reach must have parsed.
    const byName = new Map(defs.map((d) => [d.name, d]));
    const reached = new Set<string>();
    const visit = (d: FunctionDef) => {
      const { calls, names } = namesIn(d);
      for (const n of names) {
        const broken = brokenGlobals.get(n);
        const local =
          d.params.some((p) => p.name === n) ||
          d.body.some((a) => ('def' in a ? a.def.name === n : a.targets.some((t) => t.name === n)));
        if (broken && !local) throw broken;
      }
      for (const c of calls) {
        if (reached.has(c)) continue;
        reached.add(c);
        const broken = brokenDefs.get(c);
        if (broken && !byName.has(c)) throw broken;
        const helper = byName.get(c);
        if (helper) visit(helper);
      }
    };
    visit(map);
    if (derivative) visit(derivative);
    const required = map.params.filter((p) => !p.default).length;
    if (map.params.length < 3 || required > 3) {
      this.fail(
        'E_ARITY',
        `an nngp_fn takes exactly 3 parameters (cov12, var1, var2), def ${map.name} has ${required > 3 ? required : map.params.length}`,
        map.params.length > 3 ? map.params[3]!.loc : map.loc,
      );
    }
    return {
      form: 'python',
      def: map,
      body: map.body,
      result: map.result,
      helpers: defs.filter((d) => d !== map),
      globals,
      ...(derivative ? { derivative } : {}),
    };
  }

  /** The names a statement at the cursor assigns (`a, b = ...`), for a statement that failed to parse. */
  private assignedNames(): string[] {
    const names: string[] = [];
    for (let j = this.i; this.toks[j]!.type === 'name'; j += 2) {
      names.push(this.toks[j]!.text);
      const sep = this.toks[j + 1]!;
      if (sep.type === 'op' && sep.text === ',') continue;
      return sep.type === 'op' && sep.text === '=' ? names : [];
    }
    return [];
  }

  /**
   * Which def is the nngp map: one named nngp_fn; else the one def of three parameters that no
   * other def calls (not d_nngp_fn, not an activation `fn`); else the file's only def.
   */
  private mapDef(defs: FunctionDef[], broken: Map<string, CompileError>): FunctionDef {
    const named = defs.find((d) => d.name === 'nngp_fn');
    if (named) return named;
    if (broken.has('nngp_fn')) throw broken.get('nngp_fn')!;
    const called = new Set(defs.flatMap((d) => [...namesIn(d).calls]));
    const candidates = defs.filter(
      (d) => d.params.length === 3 && !['d_nngp_fn', 'fn'].includes(d.name) && !called.has(d.name),
    );
    if (candidates.length === 1) return candidates[0]!;
    if (candidates.length > 1)
      this.fail(
        'E_SYNTAX',
        `which def is the nngp map: ${candidates.map((d) => d.name).join(', ')}? Name it nngp_fn`,
        candidates[1]!.loc,
      );
    if (defs.length === 1) return defs[0]!;
    const [firstBroken] = broken.values();
    if (firstBroken) throw firstBroken;
    return this.fail(
      'E_NO_RETURN',
      defs.length
        ? `no def here is an nngp map of (cov12, var1, var2): name it nngp_fn`
        : 'no def of nngp_fn(cov12, var1, var2) here',
      defs[0]?.loc ?? this.t.loc,
    );
  }

  private rejectKeyword(): void {
    if (this.type() === 'name' && PYTHON_KEYWORDS.has(this.t.text)) {
      const kw = this.t.text;
      const hint =
        kw === 'if' || kw === 'else' || kw === 'elif'
          ? 'use where(cond, a, b)'
          : kw === 'import' || kw === 'from'
            ? 'imports are not needed: jnp., np., math. and scipy.special. prefixes are understood'
            : 'write the map as assignments and one return';
      this.fail('E_UNSUPPORTED', `'${kw}' is not supported in an nngp_fn: ${hint}`);
    }
  }

  /** An assignment, or (math form) the result expression. */
  private statement(): Assignment | { result: Node } {
    const start = this.t.loc;
    // Tuple or plain assignment: NAME (, NAME)* = expr
    let j = this.i;
    const names: { name: string; loc: Loc }[] = [];
    while (this.toks[j]!.type === 'name') {
      names.push({ name: this.toks[j]!.text, loc: this.toks[j]!.loc });
      const sep = this.toks[j + 1]!;
      if (sep.type === 'op' && sep.text === ',') {
        j += 2;
        continue;
      }
      // An annotated assignment, NAME: type = expr (the annotation is only read past).
      if (names.length === 1 && sep.type === 'op' && sep.text === ':') {
        this.i = j + 2;
        this.skipType();
        if (this.i === j + 2) this.fail('E_SYNTAX', `expected a type after '${names[0]!.name}:'`);
        if (!this.is('='))
          this.fail('E_SYNTAX', `an annotated name needs a value here: ${names[0]!.name}: type = expression`);
        this.next();
        return { targets: names, op: '=', value: this.expr(), loc: start };
      }
      if (sep.type === 'op' && ['=', '+=', '-=', '*=', '/='].includes(sep.text)) {
        const op = sep.text as Assignment['op'];
        if (op !== '=' && names.length > 1)
          this.fail('E_SYNTAX', `augmented assignment '${op}' takes one target`, sep.loc);
        this.i = j + 2;
        const value = this.expr();
        return { targets: names, op, value, loc: start };
      }
      break;
    }
    return { result: this.expr() };
  }

  /** def NAME(params) [-> type]: [docstring] assignments return expr */
  private functionDef(): FunctionDef {
    const defTok = this.next();
    if (this.type() !== 'name')
      this.fail('E_SYNTAX', `expected a function name after 'def', found ${this.describe(this.t)}`);
    const name = this.next().text;
    this.expect('(');
    const params: { name: string; loc: Loc; default?: Node }[] = [];
    while (!this.is(')')) {
      if (this.is('*') || this.is('**'))
        this.fail('E_UNSUPPORTED', 'variadic parameters (*args, **kwargs) are not supported');
      if (this.type() !== 'name') this.fail('E_SYNTAX', `expected a parameter name, found ${this.describe(this.t)}`);
      const param: { name: string; loc: Loc; default?: Node } = { name: this.t.text, loc: this.t.loc };
      this.next();
      if (this.is(':')) {
        this.next();
        this.skipType();
      }
      if (this.is('=')) {
        this.next();
        param.default = this.comparison();
      } else if (params.some((p) => p.default))
        this.fail('E_SYNTAX', `parameter '${param.name}' without a default follows one with a default`, param.loc);
      if (params.some((p) => p.name === param.name))
        this.fail('E_SYNTAX', `duplicate parameter '${param.name}'`, param.loc);
      params.push(param);
      if (this.is(',')) {
        this.next();
        continue;
      }
      if (!this.is(')')) this.fail('E_SYNTAX', `expected ',' or ')', found ${this.describe(this.t)}`);
    }
    this.next();
    if (this.is('->')) {
      this.next();
      this.skipType();
    }
    this.expect(':', "':' after the def's parameters");
    const body: Statement[] = [];
    let result: Node | undefined;
    if (this.type() !== 'newline') {
      // def f(a, b, c): return expr
      if (!this.isName('return'))
        this.fail('E_SYNTAX', `expected 'return' or a new line after ':', found ${this.describe(this.t)}`);
    }
    for (;;) {
      this.skipNewlines();
      if (this.type() === 'eof') break;
      if (this.type() === 'string') {
        this.next();
        this.endStatement();
        continue;
      } // docstring
      this.rejectKeyword();
      if (this.isName('return')) {
        const r = this.next();
        if (this.type() === 'newline' || this.type() === 'eof')
          this.fail('E_SYNTAX', "'return' needs an expression", r.loc);
        result = this.expr(); // a tuple too: a helper may return several values (lower.ts)
        this.endStatement();
        this.skipNewlines();
        // The def ends at its return; a line indented under the def after it is dead code.
        if (this.type() !== 'eof' && this.t.loc.column > defTok.loc.column)
          this.fail('E_UNSUPPORTED', `code after 'return' is not supported (found ${this.describe(this.t)})`);
        break;
      }
      if (this.isName('def')) this.fail('E_UNSUPPORTED', 'a def inside a def is not supported: define it beside');
      if (this.isLambda() && !this.isName('lambda')) {
        const local = this.lambdaDef(); // NAME = lambda ...: a local helper
        body.push({ def: local, loc: local.loc });
        continue;
      }
      const stmt = this.statement();
      if ('result' in stmt)
        this.fail('E_SYNTAX', 'a statement in a def must be an assignment or a return', stmt.result.loc);
      this.endStatement();
      body.push(stmt);
    }
    if (!result) this.fail('E_NO_RETURN', `def ${name} has no 'return'`, defTok.loc);
    return { name, params, body, result, loc: defTok.loc };
  }

  /** Skips a type annotation such as `float`, `jnp.ndarray`, `Optional[np.ndarray]`. */
  private skipType(): void {
    let depth = 0;
    for (;;) {
      const t = this.t;
      if (t.type === 'eof' || t.type === 'newline') return;
      if (depth === 0 && t.type === 'op' && (t.text === ',' || t.text === ')' || t.text === ':' || t.text === '='))
        return;
      if (t.type === 'op' && t.text === '[') depth++;
      if (t.type === 'op' && t.text === ']') depth--;
      this.next();
    }
  }
}

/** Parses nngp_fn source (plain math or a Python def) into a surface AST. */
export function parse(source: string, filename = '<input>'): Program {
  if (source.length > MAX_SOURCE_CHARS) {
    throw new CompileError(
      'E_TOO_LARGE',
      `source is ${source.length} characters; the limit is ${MAX_SOURCE_CHARS}`,
      source,
      locAt(source, 0),
      filename,
    );
  }
  // Only blanks and comments (line by line: a nested-quantifier regex here backtracked for
  // minutes on long runs of spaces).
  if (source.split('\n').every((line) => line.trim() === '' || line.trim().startsWith('#'))) {
    throw new CompileError(
      'E_EMPTY',
      'empty source: expected an expression in cov12, var1, var2, or a Python def',
      source,
      locAt(source, 0),
      filename,
    );
  }
  const toks = new Lexer(source, filename).tokens();
  return new Parser(toks, source, filename).program();
}

/** The functions a def calls and the free names it reads (its own params included). */
function namesIn(d: FunctionDef): { calls: Set<string>; names: Set<string> } {
  const calls = new Set<string>();
  const names = new Set<string>();
  const walk = (n: Node): void => {
    switch (n.type) {
      case 'name':
        names.add(n.name);
        return;
      case 'unary':
        return walk(n.arg);
      case 'binary':
        walk(n.left);
        return walk(n.right);
      case 'tuple':
        return n.items.forEach(walk);
      case 'call':
        calls.add(n.callee);
        n.args.forEach(walk);
        return n.keywords.forEach((k) => walk(k.value));
      case 'number':
        return;
    }
  };
  for (const p of d.params) if (p.default) walk(p.default);
  for (const a of d.body) {
    if (!('def' in a)) {
      walk(a.value);
      continue;
    }
    // A local lambda: the names it reads besides its parameters, the calls it makes.
    const inner = namesIn(a.def);
    inner.calls.forEach((c) => calls.add(c));
    inner.names.forEach((n) => a.def.params.some((p) => p.name === n) || names.add(n));
  }
  walk(d.result);
  return { calls, names };
}
