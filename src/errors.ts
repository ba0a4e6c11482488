import type { Loc } from './types.js';

/** Stable error codes; tools may switch on them. */
export type ErrorCode =
  | 'E_CHAR' // a character the language has no use for
  | 'E_UNTERMINATED' // a string or bracket left open
  | 'E_SYNTAX' // tokens in an order the grammar does not allow
  | 'E_UNKNOWN_FUNCTION'
  | 'E_ARITY'
  | 'E_UNBOUND' // a free identifier with no value in options.params
  | 'E_UNSUPPORTED' // Python the language does not take (if, for, lambda, ...)
  | 'E_NO_RETURN'
  | 'E_ASSIGN_INPUT' // assignment to cov12 / var1 / var2
  | 'E_PARAM' // a param that is not a finite number, or names an input or a constant
  | 'E_DOMAIN' // a constant subexpression outside the real domain: 1/0, sqrt(-1), log(0), acos(2)
  | 'E_EMPTY'
  | 'E_TOO_LARGE' // source or expression beyond the compiler's limits
  | 'E_DERIVATIVE' // a user-supplied d_nngp that disagrees with the derivative of nngp
  | 'E_NO_CLOSED_FORM'; // an activation (fn only) whose kernel the table of expectations does not cover

/**
 * The one error type nngpc throws for bad input. `frame` is a code frame: the file:line:col,
 * the offending line and a caret under the columns at fault; `excerpt` is the frame without
 * its header line (what bundlers print under their own location line).
 */
export class CompileError extends Error {
  readonly code: ErrorCode;
  readonly line: number;
  readonly column: number;
  /** How many characters from `column` are at fault (at least 1). */
  readonly length: number;
  readonly filename: string;
  readonly frame: string;
  readonly excerpt: string;
  /** The part of the offending line an excerpt shows, and where in it the fault is. */
  readonly window: SourceWindow;
  /** The message without location, e.g. "unknown function 'arcsinh'". */
  readonly reason: string;

  constructor(code: ErrorCode, reason: string, source: string, loc: Loc | undefined, filename = '<input>') {
    const l = loc ?? { offset: 0, line: 1, column: 1, length: 1 };
    const window = sourceWindow(source, l);
    const excerpt = printExcerpt(window, l.line);
    const frame = `${filename}:${l.line}:${l.column}: error: ${reason}\n${excerpt}`;
    super(frame); // "file:line:col: error: reason", then the line and its caret: once, not a header and a frame
    this.name = 'CompileError';
    this.code = code;
    this.reason = reason;
    this.line = l.line;
    this.column = l.column;
    this.length = window.length;
    this.filename = filename;
    this.frame = frame;
    this.excerpt = excerpt;
    this.window = window;
  }
}

/** A slice of one source line: `text`, the 0-based `caret` and `length` of the fault in it. */
export interface SourceWindow {
  /** The whole line. */
  readonly line: string;
  readonly text: string;
  readonly caret: number;
  readonly length: number;
  /** Whether the line goes on before / after the slice. */
  readonly clippedLeft: boolean;
  readonly clippedRight: boolean;
}

/** The widest slice of a source line an excerpt shows; longer lines get a window around the caret. */
const EXCERPT_WIDTH = 100;

function sourceWindow(source: string, loc: Loc): SourceWindow {
  const line = lineText(source, loc.line);
  let start = 0;
  let end = line.length;
  if (line.length > EXCERPT_WIDTH) {
    start = Math.max(0, Math.min(loc.column - 1 - EXCERPT_WIDTH / 2, line.length - EXCERPT_WIDTH));
    end = start + EXCERPT_WIDTH;
  }
  const text = line.slice(start, end);
  const caret = Math.max(0, loc.column - 1 - start);
  const length = Math.max(1, Math.min(loc.length, Math.max(1, text.length - caret)));
  return { line, text, caret, length, clippedLeft: start > 0, clippedRight: end < line.length };
}

/** The window with a gutter and a caret line under it. Tabs are kept so carets align. */
function printExcerpt(w: SourceWindow, line: number): string {
  const before = w.clippedLeft ? '\u2026' : '';
  const after = w.clippedRight ? '\u2026' : '';
  const gutter = String(line);
  const pad = ' '.repeat(gutter.length);
  const lead = (before ? ' ' : '') + w.text.slice(0, w.caret).replace(/[^\t]/g, ' ');
  return [
    `${pad} |`,
    `${gutter} | ${before}${printable(w.text)}${after}`,
    `${pad} | ${lead}${'^'.repeat(w.length)}`,
  ].join('\n');
}

/** Line `n` (1-based) of `source`, without its line break. */
function lineText(source: string, n: number): string {
  const starts = lineStarts(source);
  const from = starts[n - 1];
  if (from === undefined) return '';
  const next = starts[n];
  return source.slice(from, next === undefined ? source.length : next).replace(/\r?\n$|\r$/, '');
}

/** Control characters (and U+2028/9) shown as escapes so a frame never breaks a terminal. */
function printable(s: string): string {
  return s.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

let cachedSource: string | undefined;
let cachedStarts: number[] = [];

/** Offsets at which each line starts (\n, \r\n and lone \r end a line). */
function lineStarts(source: string): number[] {
  if (source === cachedSource) return cachedStarts;
  const starts = [0];
  for (let i = 0; i < source.length; i++) {
    const ch = source.charCodeAt(i);
    if (ch === 10 || (ch === 13 && source.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  cachedSource = source;
  cachedStarts = starts;
  return starts;
}

/** Location of a character offset in `source` (O(log lines) after the first call). */
export function locAt(source: string, offset: number, length = 1): Loc {
  const starts = lineStarts(source);
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { offset, line: lo + 1, column: offset - starts[lo]! + 1, length };
}
