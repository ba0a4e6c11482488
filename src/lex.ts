// The lexer of the source language: text → tokens with locations (newlines significant
// outside brackets, comments and backslash continuations dropped).
import { CompileError, locAt } from './errors.js';
import type { Loc } from './types.js';

export type TokType = 'num' | 'name' | 'op' | 'newline' | 'string' | 'eof';
export interface Tok {
  readonly type: TokType;
  readonly text: string;
  readonly loc: Loc;
}

const OPERATORS = [
  '**',
  '//',
  '->',
  '<=',
  '>=',
  '==',
  '!=',
  '+=',
  '-=',
  '*=',
  '/=',
  '+',
  '-',
  '*',
  '/',
  '^',
  '(',
  ')',
  ',',
  '=',
  '<',
  '>',
  ':',
  '[',
  ']',
  '.',
  ';',
  // Not in the language, but lexed so that the Python a paste carries along (dicts, decorators,
  // modulo) parses as far as a clear error or is skipped.
  '{',
  '}',
  '@',
  '%',
];
export const PYTHON_KEYWORDS = new Set([
  'if',
  'elif',
  'else',
  'for',
  'while',
  'lambda',
  'import',
  'from',
  'with',
  'try',
  'class',
  'yield',
  'async',
  'await',
  'global',
  'nonlocal',
  'del',
  'assert',
  'raise',
  'pass',
  'break',
  'continue',
  'and',
  'or',
  'not',
  'in',
  'is',
]);

export class Lexer {
  private pos = 0;
  private depth = 0;
  private readonly opens: Tok[] = [];
  constructor(
    private readonly src: string,
    private readonly file: string,
  ) {}

  fail(code: 'E_CHAR' | 'E_UNTERMINATED' | 'E_SYNTAX', msg: string, offset: number, length = 1): never {
    throw new CompileError(code, msg, this.src, locAt(this.src, offset, length), this.file);
  }

  tokens(): Tok[] {
    const out: Tok[] = [];
    const s = this.src;
    const tok = (type: TokType, start: number, end: number) =>
      out.push({ type, text: s.slice(start, end), loc: locAt(s, start, Math.max(1, end - start)) });
    // At the start of a line, a doctest prompt (`>>> ` or `... `) pasted from a docstring.
    let lineStart = true;
    while (this.pos < s.length) {
      const c = s[this.pos]!;
      const start = this.pos;
      if (c === ' ' || c === '\t' || c === '\f') {
        this.pos++;
        continue;
      }
      if (lineStart && /^(>>>|\.\.\.)(?=[ \t\r\n]|$)/.test(s.slice(this.pos, this.pos + 4))) {
        this.pos += 3;
        lineStart = false;
        continue;
      }
      lineStart = false;
      if (c === '\\' && /^\\[ \t]*(\r\n|\r|\n)/.test(s.slice(this.pos, this.pos + 64))) {
        this.pos += /^\\[ \t]*(\r\n|\r|\n)/.exec(s.slice(this.pos))![0].length;
        continue;
      }
      if (c === '#') {
        while (this.pos < s.length && s[this.pos] !== '\n' && s[this.pos] !== '\r') this.pos++;
        continue;
      }
      if (c === '\n' || c === '\r') {
        this.pos += s.startsWith('\r\n', this.pos) ? 2 : 1;
        lineStart = true;
        if (this.depth === 0) tok('newline', start, start + 1);
        continue;
      }
      if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(s[this.pos + 1] ?? ''))) {
        const m = /^(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9]+)?/.exec(s.slice(this.pos))!;
        this.pos += m[0].length;
        if (/^[A-Za-z_]/.test(s[this.pos] ?? ''))
          this.fail('E_SYNTAX', `malformed number '${s.slice(start, this.pos + 1)}'`, start, this.pos + 1 - start);
        tok('num', start, this.pos);
        continue;
      }
      // A string's prefix (r"...", b'...', rb'...', f"..."): the string is read as any other.
      const prefix = /^(?:[rRbBuUfF]|[rR][bBfF]|[bBfF][rR])(?=["'])/.exec(s.slice(this.pos, this.pos + 3));
      if (prefix) this.pos += prefix[0].length;
      const q0 = s[this.pos];
      if (!prefix && /[A-Za-z_]/.test(c)) {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(this.pos))!;
        this.pos += m[0].length;
        tok('name', start, this.pos);
        continue;
      }
      if (q0 === '"' || q0 === "'") {
        const triple = s.startsWith(q0.repeat(3), this.pos);
        const q = triple ? q0.repeat(3) : q0;
        let i = this.pos + q.length;
        for (;;) {
          if (i >= s.length || (!triple && (s[i] === '\n' || s[i] === '\r')))
            this.fail('E_UNTERMINATED', 'unterminated string', start, q.length);
          if (s[i] === '\\') {
            i += 2;
            continue;
          }
          if (s.startsWith(q, i)) {
            i += q.length;
            break;
          }
          i++;
        }
        this.pos = i;
        tok('string', start, i);
        continue;
      }
      const op = OPERATORS.find((o) => s.startsWith(o, this.pos));
      if (op) {
        this.pos += op.length;
        tok('op', start, this.pos);
        if (op === '(' || op === '[' || op === '{') {
          this.depth++;
          this.opens.push(out[out.length - 1]!);
        }
        if (op === ')' || op === ']' || op === '}') {
          const open = this.opens.pop();
          if (!open) this.fail('E_SYNTAX', `unmatched '${op}'`, start);
          if (open.text !== { ')': '(', ']': '[', '}': '{' }[op])
            this.fail(
              'E_SYNTAX',
              `'${op}' does not match '${open.text}' at line ${open.loc.line}, column ${open.loc.column}`,
              start,
            );
          this.depth--;
        }
        continue;
      }
      const cp = s.codePointAt(this.pos)!;
      const shown =
        cp < 0x20 || cp === 0x7f || cp > 0x7e
          ? `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`
          : `'${String.fromCodePoint(cp)}'`;
      this.fail('E_CHAR', `unexpected character ${shown}`, start);
    }
    const open = this.opens.pop();
    if (open) this.fail('E_UNTERMINATED', `'${open.text}' is never closed`, open.loc.offset);
    out.push({ type: 'newline', text: '', loc: locAt(s, s.length) });
    out.push({ type: 'eof', text: '', loc: locAt(s, s.length) });
    return out;
  }
}
