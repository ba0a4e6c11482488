// The nngpc command line: a codegen step for build scripts and CI. Dispatches a subcommand;
// a usage mistake exits 2 with one line saying what, an input problem exits 1 with a frame,
// and "internal error" is kept for defects of nngpc itself.
import { VERSION } from '../emit/index.js';
import { commandHelp, parseArgs, UsageError, type CommandSpec, type ParsedArgs } from './args.js';
import { ACCURACY, runAccuracy } from './accuracy.js';
import { COMPILE, runCompile } from './compile.js';
import { DERIVE, runDerive } from './derive.js';
import { runVerify, VERIFY } from './verify.js';

const COMMANDS: readonly [CommandSpec, (args: ParsedArgs, argv: readonly string[]) => number][] = [
  [COMPILE, runCompile],
  [DERIVE, runDerive],
  [VERIFY, runVerify],
  [ACCURACY, runAccuracy],
];

const HELP = `nngpc ${VERSION}: compile neural-tangents nngp_fn maps to stable TypeScript kernels

Usage: nngpc <command> [options]

Commands:
${COMMANDS.map(([c]) => `  ${c.synopsis}\n      ${c.summary.split('\n')[0]}`).join('\n')}

Run 'nngpc <command> --help' for a command's options; 'nngpc --version' for the version.
Exit codes: 0 ok, 1 input errors (compile errors, stale modules, failed checks), 2 usage.
`;

/** Runs the CLI; the exit code, or -1 while a watch keeps running. */
export function main(argv: readonly string[]): number {
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      const topic = COMMANDS.find(([c]) => c.name === rest[0]);
      process.stdout.write(cmd === 'help' && topic ? commandHelp(topic[0]) : HELP);
      return cmd === undefined ? 2 : 0;
    }
    if (cmd === '--version' || cmd === '-v' || cmd === '-V') {
      process.stdout.write(VERSION + '\n');
      return 0;
    }
    const command = COMMANDS.find(([c]) => c.name === cmd);
    if (!command)
      throw new UsageError(`unknown command '${cmd}' (commands: ${COMMANDS.map(([c]) => c.name).join(', ')})`);
    const [spec, run] = command;
    const args = parseArgs(spec, rest);
    if (args.help) {
      process.stdout.write(commandHelp(spec));
      return 0;
    }
    return run(args, argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(
        `nngpc: ${e.message}\nRun 'nngpc ${argv[0] && !argv[0].startsWith('-') ? `${argv[0]} ` : ''}--help' for usage.\n`,
      );
      return 2;
    }
    process.stderr.write(
      `nngpc: internal error (a defect of nngpc; please report it with the input): ${(e as Error)?.stack ?? String(e)}\n`,
    );
    return 70;
  }
}
