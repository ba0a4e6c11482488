// The parse pass: source text → surface AST (Program). A small direct lexer and recursive-descent
// parser for the grammar in grammar/nngp.ebnf; every node carries its source location.
import { CompileError, locAt, type ErrorCode } from './errors.js';
import { Lexer, PYTHON_KEYWORDS, type Tok, type TokType } from './lex.js';
import type { Assignment, BinaryOp, Loc, Node, Program } from './types.js';

export const MAX_SOURCE_CHARS = 100_000;
const MAX_DEPTH = 500;

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly src: string,
    private readonly file: string,
  ) {}

  private get t(): Tok {
    return this.toks[this.i]!;
  }
  private type(): TokType {
    return this.toks[this.i]!.type;
  }
  private peek(k = 1): Tok {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }
  private is(text: string): boolean {
    return this.type() === 'op' && this.t.text === text;
  }
  private isName(text: string): boolean {
    return this.type() === 'name' && this.t.text === text;
  }
  private next(): Tok {
    return this.toks[this.i++]!;
  }

  fail(code: ErrorCode, msg: string, loc: Loc = this.t.loc): never {
    throw new CompileError(code, msg, this.src, loc, this.file);
  }

  private describe(t: Tok): string {
    if (t.type === 'eof') return 'end of input';
    if (t.type === 'newline') return 'end of line';
    return `'${t.text}'`;
  }

  private expect(text: string, what = `'${text}'`): Tok {
    if (!this.is(text)) this.fail('E_SYNTAX', `expected ${what}, found ${this.describe(this.t)}`);
    return this.next();
  }

  private skipNewlines(): void {
    while (this.type() === 'newline' || this.is(';')) this.next();
  }

  private endStatement(): void {
    if (this.is(';')) {
      this.next();
      return;
    }
    if (this.type() === 'name' && ['if', 'else'].includes(this.t.text))
      this.fail('E_UNSUPPORTED', "conditional expressions ('x if c else y') are not supported: use where(cond, a, b)");
    if (this.type() === 'name' && ['and', 'or', 'not', 'in', 'is'].includes(this.t.text))
      this.fail('E_UNSUPPORTED', `'${this.t.text}' is not supported: conditions are single comparisons inside where()`);
    if (this.type() !== 'newline') this.fail('E_SYNTAX', `expected end of line, found ${this.describe(this.t)}`);
    this.next();
  }

  program(): Program {
    this.skipNewlines();
    if (this.type() === 'eof') this.fail('E_SYNTAX', 'empty source: expected an expression or a def');
    if (this.isName('def')) return this.pythonDef();
    const body: Assignment[] = [];
    for (;;) {
      this.skipNewlines();
      if (this.type() === 'eof') break;
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
        return { form: 'math', body, result: stmt.result };
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
    if (this.isName('def')) this.fail('E_UNSUPPORTED', 'nested def is not supported: inline the helper');
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

  private pythonDef(): Program {
    const defTok = this.next();
    if (this.type() !== 'name')
      this.fail('E_SYNTAX', `expected a function name after 'def', found ${this.describe(this.t)}`);
    const name = this.next().text;
    this.expect('(');
    const params: { name: string; loc: Loc }[] = [];
    while (!this.is(')')) {
      if (this.is('*'))
        this.fail('E_UNSUPPORTED', 'variadic parameters are not supported: an nngp_fn takes (cov12, var1, var2)');
      if (this.type() !== 'name') this.fail('E_SYNTAX', `expected a parameter name, found ${this.describe(this.t)}`);
      params.push({ name: this.t.text, loc: this.t.loc });
      this.next();
      if (this.is(':')) {
        this.next();
        this.skipType();
      }
      if (this.is('='))
        this.fail('E_UNSUPPORTED', 'default parameter values are not supported: give extra constants through params');
      if (this.is(',')) {
        this.next();
        continue;
      }
      if (!this.is(')')) this.fail('E_SYNTAX', `expected ',' or ')', found ${this.describe(this.t)}`);
    }
    const close = this.next();
    if (params.length !== 3) {
      this.fail(
        'E_ARITY',
        `an nngp_fn takes exactly 3 parameters (cov12, var1, var2), this def has ${params.length}`,
        params.length > 3 ? params[3]!.loc : close.loc,
      );
    }
    if (this.is('->')) {
      this.next();
      this.skipType();
    }
    this.expect(':', "':' after the def's parameters");
    const body: Assignment[] = [];
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
        result = this.expr();
        if (result.type === 'tuple')
          this.fail('E_UNSUPPORTED', 'an nngp_fn returns one value, not a tuple', result.loc);
        this.endStatement();
        this.skipNewlines();
        if (this.type() !== 'eof')
          this.fail('E_UNSUPPORTED', `code after 'return' is not supported (found ${this.describe(this.t)})`);
        break;
      }
      const stmt = this.statement();
      if ('result' in stmt)
        this.fail('E_SYNTAX', 'a statement in a def must be an assignment or a return', stmt.result.loc);
      this.endStatement();
      body.push(stmt);
    }
    if (!result) this.fail('E_NO_RETURN', `def ${name} has no 'return'`, defTok.loc);
    return { form: 'python', def: { name, params, loc: defTok.loc }, body, result };
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

  // expr := comparison (',' comparison)*   — a tuple only where an assignment allows one
  private expr(): Node {
    const first = this.comparison();
    if (!this.is(',')) return first;
    const items = [first];
    while (this.is(',')) {
      this.next();
      if (this.type() === 'newline' || this.type() === 'eof' || this.is(')')) break;
      items.push(this.comparison());
    }
    return { type: 'tuple', items, loc: first.loc };
  }

  private comparison(): Node {
    const left = this.additive();
    if (this.type() === 'op' && ['<', '<=', '>', '>=', '==', '!='].includes(this.t.text)) {
      const op = this.next();
      const right = this.additive();
      if (this.type() === 'op' && ['<', '<=', '>', '>=', '==', '!='].includes(this.t.text))
        this.fail('E_UNSUPPORTED', 'chained comparisons are not supported', this.t.loc);
      return { type: 'binary', op: op.text as BinaryOp, left, right, loc: op.loc };
    }
    return left;
  }

  private additive(): Node {
    let left = this.multiplicative();
    while (this.is('+') || this.is('-')) {
      const op = this.next();
      const right = this.multiplicative();
      left = { type: 'binary', op: op.text as BinaryOp, left, right, loc: op.loc };
    }
    return left;
  }

  private multiplicative(): Node {
    let left = this.unary();
    while (this.is('*') || this.is('/')) {
      const op = this.next();
      const right = this.unary();
      left = { type: 'binary', op: op.text as BinaryOp, left, right, loc: op.loc };
    }
    return left;
  }

  private unary(): Node {
    if (this.is('-') || this.is('+')) {
      const op = this.next();
      const arg = this.nested(() => this.unary());
      return { type: 'unary', op: op.text as '-' | '+', arg, loc: op.loc };
    }
    return this.power();
  }

  // power := postfix (('**' | '^') unary)?   — right-associative, binds tighter than a leading minus
  private power(): Node {
    const base = this.primary();
    if (this.is('**') || this.is('^')) {
      const op = this.next();
      const exponent = this.nested(() => this.unary());
      return { type: 'binary', op: '^', left: base, right: exponent, loc: op.loc };
    }
    return base;
  }

  private nested<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail('E_TOO_LARGE', `expression nested more than ${MAX_DEPTH} deep`);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private primary(): Node {
    const t = this.t;
    if (t.type === 'num') {
      this.next();
      return { type: 'number', text: t.text, loc: t.loc };
    }
    if (t.type === 'op' && t.text === '(') {
      this.next();
      const inner = this.nested(() => this.expr());
      this.expect(')');
      return inner;
    }
    if (t.type === 'name') {
      if (PYTHON_KEYWORDS.has(t.text) || t.text === 'def' || t.text === 'return') {
        if (t.text === 'lambda')
          this.fail('E_UNSUPPORTED', "'lambda' is not supported: write the map as an expression");
        if (t.text === 'if' || t.text === 'else')
          this.fail('E_UNSUPPORTED', `conditional expressions ('${t.text}') are not supported: use where(cond, a, b)`);
        if (t.text === 'and' || t.text === 'or' || t.text === 'not')
          this.fail('E_UNSUPPORTED', `'${t.text}' is not supported: conditions are single comparisons inside where()`);
        this.fail('E_SYNTAX', `unexpected keyword '${t.text}'`);
      }
      // dotted name: jnp.arcsin, jax.scipy.special.erf
      let name = t.text;
      const startLoc = t.loc;
      this.next();
      while (this.is('.') && this.peek().type === 'name') {
        this.next();
        name += '.' + this.next().text;
      }
      const end = this.toks[this.i - 1]!.loc;
      const loc: Loc = { ...startLoc, length: end.offset + end.length - startLoc.offset };
      if (this.is('(')) {
        this.next();
        const args: Node[] = [];
        while (!this.is(')')) {
          args.push(this.nested(() => this.comparison()));
          if (this.is('=')) this.fail('E_UNSUPPORTED', 'keyword arguments are not supported');
          if (this.is(',')) {
            this.next();
            continue;
          }
          if (!this.is(')'))
            this.fail('E_SYNTAX', `expected ',' or ')' in the arguments of ${name}, found ${this.describe(this.t)}`);
        }
        const close = this.next();
        return {
          type: 'call',
          callee: name,
          calleeLoc: loc,
          args,
          loc: { ...loc, length: close.loc.offset + 1 - loc.offset },
        };
      }
      if (this.is('[')) this.fail('E_UNSUPPORTED', 'indexing is not supported: an nngp_fn works on scalars');
      return { type: 'name', name, loc };
    }
    if (t.type === 'string') this.fail('E_SYNTAX', 'a string is not a number');
    this.fail('E_SYNTAX', `expected an expression, found ${this.describe(t)}`);
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
  if (source.trim() === '' || /^(\s*(#[^\n]*)?\n?)*$/.test(source)) {
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
