// What the CLI prints: code frames and messages on stderr, tables and JSON on stdout, and
// progress on a terminal (nothing of it when stderr is not a TTY, e.g. in CI logs).
import { CompileError } from '../errors.js';
import { UnreadableSource } from '../readsource.js';

/** A CompileError as its code frame; a file that cannot be read as its reason; anything else is a defect. */
export function printError(e: unknown): void {
  if (e instanceof CompileError) process.stderr.write(e.frame + '\n');
  else if (e instanceof UnreadableSource) process.stderr.write(`nngpc: ${e.message}\n`);
  else throw e;
}

/** The JSON shape of an input error. */
export function errorJson(e: unknown): { code: string; message: string; line?: number; column?: number } {
  if (e instanceof CompileError) return { code: e.code, message: e.reason, line: e.line, column: e.column };
  if (e instanceof UnreadableSource) return { code: 'E_READ', message: e.message };
  throw e;
}

export const isInputError = (e: unknown): boolean => e instanceof CompileError || e instanceof UnreadableSource;

export function printWarnings(warnings: readonly { message: string }[]): void {
  for (const w of warnings) process.stderr.write(`nngpc: warning: ${w.message}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map(
        (r, k) =>
          r
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd() + (k === 0 ? '\n' + widths.map((w) => '-'.repeat(w)).join('  ') : ''),
      )
      .join('\n') + '\n'
  );
}

/** `[3/17] verifying gelu.nngp` on one rewritten terminal line; silent off a terminal. */
export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  constructor(
    private readonly verb: string,
    private readonly total: number,
  ) {}
  step(i: number, file: string): void {
    if (!this.tty) return;
    const line = `[${i + 1}/${this.total}] ${this.verb} ${file}`;
    process.stderr.write(`\r\x1b[2K${line.slice(0, Math.max(60, process.stderr.columns ?? 80) - 1)}`);
  }
  done(): void {
    if (this.tty) process.stderr.write('\r\x1b[2K');
  }
}

/** A shell word, quoted where it must be (for commands the CLI suggests). */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
