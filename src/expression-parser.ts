// The expression grammar of the parse pass (grammar/nngp.ebnf: expr and below) with the token
// cursor it runs on; parse.ts extends it with statements, defs and the Python module form.
import { CompileError, type ErrorCode } from './errors.js';
import { PYTHON_KEYWORDS, type Tok, type TokType } from './lex.js';
import type { BinaryOp, KeywordArg, Loc, Node } from './types.js';

const MAX_DEPTH = 500;

export abstract class ExpressionParser {
  protected i = 0;
  protected depth = 0;
  constructor(
    protected readonly toks: Tok[],
    protected readonly src: string,
    protected readonly file: string,
  ) {}

  protected get t(): Tok {
    return this.toks[this.i]!;
  }
  protected type(): TokType {
    return this.toks[this.i]!.type;
  }
  protected peek(k = 1): Tok {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }
  protected is(text: string): boolean {
    return this.type() === 'op' && this.t.text === text;
  }
  protected isName(text: string): boolean {
    return this.type() === 'name' && this.t.text === text;
  }
  protected next(): Tok {
    return this.toks[this.i++]!;
  }

  fail(code: ErrorCode, msg: string, loc: Loc = this.t.loc): never {
    throw new CompileError(code, msg, this.src, loc, this.file);
  }

  protected describe(t: Tok): string {
    if (t.type === 'eof') return 'end of input';
    if (t.type === 'newline') return 'end of line';
    return `'${t.text}'`;
  }

  protected expect(text: string, what = `'${text}'`): Tok {
    if (!this.is(text)) this.fail('E_SYNTAX', `expected ${what}, found ${this.describe(this.t)}`);
    return this.next();
  }

  protected skipNewlines(): void {
    while (this.type() === 'newline' || this.is(';')) this.next();
  }

  /** Python operators the language has no use for, named with what to do instead. */
  protected rejectForeignOperator(): void {
    if (this.type() !== 'op') return;
    const why: Record<string, string> = {
      '@': "matrix products ('@') are not supported: an nngp_fn works on scalars",
      '%': "'%' (remainder) is not supported",
      '//': "floor division ('//') is not supported: use '/'",
      '{': 'dicts and sets are not supported',
    };
    const reason = why[this.t.text];
    if (reason) this.fail('E_UNSUPPORTED', reason);
  }

  // expr := comparison (',' comparison)*   — a tuple only where an assignment allows one
  protected expr(): Node {
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

  protected comparison(): Node {
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

  protected additive(): Node {
    let left = this.multiplicative();
    while (this.is('+') || this.is('-')) {
      const op = this.next();
      const right = this.multiplicative();
      left = { type: 'binary', op: op.text as BinaryOp, left, right, loc: op.loc };
    }
    return left;
  }

  protected multiplicative(): Node {
    let left = this.unary();
    while (this.is('*') || this.is('/')) {
      const op = this.next();
      const right = this.unary();
      left = { type: 'binary', op: op.text as BinaryOp, left, right, loc: op.loc };
    }
    return left;
  }

  protected unary(): Node {
    if (this.is('-') || this.is('+')) {
      const op = this.next();
      const arg = this.nested(() => this.unary());
      return { type: 'unary', op: op.text as '-' | '+', arg, loc: op.loc };
    }
    return this.power();
  }

  // power := postfix (('**' | '^') unary)?   — right-associative, binds tighter than a leading minus
  protected power(): Node {
    const base = this.primary();
    if (this.is('**') || this.is('^')) {
      const op = this.next();
      const exponent = this.nested(() => this.unary());
      return { type: 'binary', op: '^', left: base, right: exponent, loc: op.loc };
    }
    return base;
  }

  protected nested<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail('E_TOO_LARGE', `expression nested more than ${MAX_DEPTH} deep`);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  protected primary(): Node {
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
          this.fail(
            'E_UNSUPPORTED',
            "'lambda' is supported only as a whole map or helper (nngp_fn = lambda cov12, var1, var2: ...) or bound to a name in a def (f = lambda x: ...), not inside an expression or beside a result line: write a def",
          );
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
        const keywords: KeywordArg[] = [];
        while (!this.is(')')) {
          const kw = this.t;
          if (kw.type === 'name' && this.peek().type === 'op' && this.peek().text === '=') {
            this.next();
            this.next();
            if (keywords.some((k) => k.name === kw.text))
              this.fail('E_SYNTAX', `keyword argument '${kw.text}' given twice`, kw.loc);
            keywords.push({ name: kw.text, value: this.nested(() => this.comparison()), loc: kw.loc });
          } else {
            if (keywords.length) this.fail('E_SYNTAX', 'a positional argument follows a keyword argument');
            args.push(this.nested(() => this.comparison()));
          }
          if (this.is(',')) {
            this.next();
            continue;
          }
          this.rejectForeignOperator();
          if (!this.is(')'))
            this.fail('E_SYNTAX', `expected ',' or ')' in the arguments of ${name}, found ${this.describe(this.t)}`);
        }
        const close = this.next();
        return {
          type: 'call',
          callee: name,
          calleeLoc: loc,
          args,
          keywords,
          loc: { ...loc, length: close.loc.offset + 1 - loc.offset },
        };
      }
      if (this.is('[')) this.fail('E_UNSUPPORTED', 'indexing is not supported: an nngp_fn works on scalars');
      return { type: 'name', name, loc };
    }
    if (t.type === 'string') this.fail('E_SYNTAX', 'a string is not a number');
    this.rejectForeignOperator();
    this.fail('E_SYNTAX', `expected an expression, found ${this.describe(t)}`);
  }
}
