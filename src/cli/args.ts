// Command-line arguments: each subcommand declares its options (for parsing and for its
// --help); anything else is a usage error that names the option and the subcommand.
export class UsageError extends Error {}

export interface OptionSpec {
  readonly flag: string;
  readonly short?: string;
  /** The value's placeholder (e.g. 'DIR'); absent for a boolean flag. */
  readonly value?: string;
  /** An example value, shown when the value is missing. */
  readonly example?: string;
  readonly help: string;
}

export interface CommandSpec {
  readonly name: string;
  readonly synopsis: string;
  readonly summary: string;
  readonly options: readonly OptionSpec[];
  /** Lines after the options in --help. */
  readonly notes?: readonly string[];
}

export interface ParsedArgs {
  /** Option values by flag ('--params' may repeat: all its values, in order). */
  readonly values: ReadonlyMap<string, readonly string[]>;
  readonly flags: ReadonlySet<string>;
  readonly rest: readonly string[];
  readonly help: boolean;
}

const HELP: OptionSpec = { flag: '--help', short: '-h', help: 'show this help' };

export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const options = [...spec.options, HELP];
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  const rest: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      rest.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const opt = options.find((o) => o.flag === name || o.short === name);
    if (!opt) {
      const near = options.find((o) => o.flag.slice(2).startsWith(name.replace(/^-+/, '').slice(0, 3)));
      throw new UsageError(
        `${spec.name}: unknown option '${name}'${near && name.length > 2 ? `; did you mean '${near.flag}'?` : ''}`,
      );
    }
    if (opt === HELP) {
      help = true;
      continue;
    }
    if (!opt.value) {
      if (eq > 0) throw new UsageError(`${spec.name}: option ${opt.flag} takes no value`);
      flags.add(opt.flag);
      continue;
    }
    let v: string | undefined = eq > 0 ? arg.slice(eq + 1) : argv[i + 1];
    if (eq <= 0) {
      if (v !== undefined && v.startsWith('-') && v !== '-' && options.some((o) => o.flag === v || o.short === v))
        v = undefined;
      else i++;
    }
    if (v === undefined || v === '')
      throw new UsageError(
        `${spec.name}: option ${opt.flag} needs a value${opt.example ? `, e.g. ${opt.flag} ${opt.example}` : ` (${opt.value})`}`,
      );
    values.set(opt.flag, [...(values.get(opt.flag) ?? []), v]);
  }
  return { values, flags, rest, help };
}

/** The last value given for an option. */
export const lastValue = (a: ParsedArgs, flag: string): string | undefined => a.values.get(flag)?.at(-1);

export function commandHelp(spec: CommandSpec): string {
  const rows = [...spec.options, HELP].map((o) => {
    const names = [o.short, o.flag].filter(Boolean).join(', ') + (o.value ? ` ${o.value}` : '');
    return [names, o.help] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length));
  return [
    `Usage: nngpc ${spec.synopsis}`,
    '',
    spec.summary,
    '',
    'Options:',
    ...rows.map(([n, h]) => `  ${n.padEnd(width)}  ${h}`),
    ...(spec.notes?.length ? ['', ...spec.notes] : []),
    '',
  ].join('\n');
}
