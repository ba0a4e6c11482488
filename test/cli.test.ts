import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

const CLI = join(ROOT, 'dist', 'cli.js');
const run = (args: string[], cwd: string, input?: string) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', input });

describe('CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nngpc-cli-'));
    writeFileSync(join(dir, 'erf.nngp'), readFileSync(join(ROOT, 'fixtures/examples/erf.nngp')));
    writeFileSync(join(dir, 'lrelu.nngp'), readFileSync(join(ROOT, 'fixtures/examples/leaky_relu.nngp')));
  });

  it('prints help and version, exit 0; no arguments is a usage error', () => {
    expect(run(['--help'], dir).status).toBe(0);
    expect(run(['--version'], dir).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(run([], dir).status).toBe(2);
    expect(run(['frobnicate'], dir).status).toBe(2);
    expect(run(['compile', '--target', 'rust', 'erf.nngp'], dir).status).toBe(2);
  });

  it('compiles globs into a directory; --check passes, then fails when stale', () => {
    const r = run(['compile', '*.nngp', '-o', 'gen'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'gen', 'erf.ts'))).toBe(true);
    expect(readFileSync(join(dir, 'gen', 'lrelu.ts'), 'utf8')).toContain('Do not edit');
    expect(run(['compile', '*.nngp', '-o', 'gen', '--check'], dir).status).toBe(0);
    writeFileSync(join(dir, 'gen', 'erf.ts'), '// edited by hand\n');
    const stale = run(['compile', '*.nngp', '-o', 'gen', '--check'], dir);
    expect(stale.status).toBe(1);
    expect(stale.stderr).toContain('stale');
    expect(readFileSync(join(dir, 'gen', 'erf.ts'), 'utf8')).toBe('// edited by hand\n'); // --check writes nothing
  });

  it('reports compile errors as code frames, exit 1, and leaves existing output untouched', () => {
    writeFileSync(join(dir, 'bad.nngp'), 'x = cov12\nx + arcsinh(var1)\n');
    writeFileSync(join(dir, 'bad.ts'), 'previous');
    const r = run(['compile', 'bad.nngp'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('bad.nngp:2:5: error: unknown function');
    expect(r.stderr).toContain('  |     ^^^^^^^');
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(readFileSync(join(dir, 'bad.ts'), 'utf8')).toBe('previous');
  });

  it('never overwrites a source file', () => {
    writeFileSync(join(dir, 'k.js'), 'cov12');
    const r = run(['compile', 'k.js', '--target', 'js'], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('would overwrite the source');
    expect(readFileSync(join(dir, 'k.js'), 'utf8')).toBe('cov12');
  });

  it('derive prints the derivative of a file, an expression, or stdin', () => {
    expect(run(['derive', 'erf.nngp'], dir).stdout.trim()).toBe(
      '4/(sqrt(1 - 4*cov12^2 + 2*var1 + 2*var2 + 4*var1*var2)*pi)',
    );
    expect(run(['derive', 'a*cov12^2', '--params', 'a=3'], dir).stdout.trim()).toBe('6*cov12');
    expect(run(['derive', '-'], dir, 'exp(2*cov12)').stdout.trim()).toBe('2*exp(2*cov12)');
    expect(run(['derive', 'cov12', '--params', 'a=x'], dir).status).toBe(2);
    // A division is math, not a path (the README's example); a missing file is still named as one.
    expect(run(['derive', 'cov12/2'], dir).stdout.trim()).toBe('1/2');
    expect(run(['derive', 'sqrt(var1*var2) * exp(cov12/sqrt(var1*var2) - 1)'], dir).stdout.trim()).toBe(
      'exp(-1 + cov12/(sqrt(var1)*sqrt(var2)))',
    );
    for (const missing of ['data/relu', 'none.nngp']) {
      const r = run(['derive', missing], dir);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`${missing}: no such file`);
    }
  });

  it('derive --fn prints the kernel of an activation and its derivative; compiles a # fn:-only file', () => {
    const ok = run(['derive', '--fn', 'relu(x)'], dir);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe(
      'nngp_fn(cov12, var1, var2) = -acos(cov12/(sqrt(var1)*sqrt(var2)))*cov12/(2*pi) + sqrt(-cov12^2 + var1*var2)/(2*pi) + cov12/2\n' +
        'd nngp / d cov12        = 1/2 - acos(cov12/(sqrt(var1)*sqrt(var2)))/(2*pi)\n',
    );
    const mixture = run(['derive', '--fn', 'tanh(x)'], dir);
    expect(mixture.status, mixture.stderr).toBe(0);
    expect(mixture.stdout).toMatch(
      /^nngp_fn\(cov12, var1, var2\) = E\[f\(x1\) f\(x2\)\], f = 2\*\[sigmoid\(2\*x\) - 1\/2\]: a Gaussian scale mixture of 24 nodes/,
    );
    const refused = run(['derive', '--fn', 'x^2*erf(x)'], dir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('no closed-form kernel for f(x) = x^2*erf(x)');
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    writeFileSync(join(dir, 'mine.nngp'), '# fn: erf(x) + a*x\n# params: a=0.5\n');
    expect(run(['compile', 'mine.nngp', '-o', 'fnout'], dir).status).toBe(0);
    expect(readFileSync(join(dir, 'fnout', 'mine.ts'), 'utf8')).toContain('nngp(cov12, var1, var2) = 1 - 2*acos(');
    writeFileSync(join(dir, 'soft.nngp'), '# fn: jax.nn.softplus(x)\n');
    expect(run(['compile', 'soft.nngp', '-o', 'fnout'], dir).status).toBe(0);
    expect(readFileSync(join(dir, 'fnout', 'soft.ts'), 'utf8')).toContain(
      'function mixtureK(c: number, v1: number, v2: number): number {',
    );
    const acc = run(['accuracy', 'soft.nngp'], dir);
    expect(acc.status).toBe(1);
    expect(acc.stderr).toContain('accuracy needs a closed-form kernel');
    expect(acc.stderr).not.toMatch(/\n\s+at |internal error/);
    expect(run(['verify', 'soft.nngp', '--points', '3'], dir).status).toBe(0);
  });

  it('does not rewrite an up-to-date output (mtime kept)', () => {
    run(['compile', 'erf.nngp', '-o', 'gen2'], dir);
    const before = statSync(join(dir, 'gen2', 'erf.ts')).mtimeMs;
    run(['compile', 'erf.nngp', '-o', 'gen2'], dir);
    expect(statSync(join(dir, 'gen2', 'erf.ts')).mtimeMs).toBe(before);
  });

  it('verify and accuracy print tables; a wrong closed form fails verify with exit 1', () => {
    const ok = run(['verify', join(ROOT, 'fixtures/activations/erf.nngp'), '--points', '5'], dir);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/nngp vs E\[f f\]/);
    writeFileSync(
      join(dir, 'wrong.nngp'),
      '# fn: max(x, 0)\n(sqrt(var1*var2 - cov12^2) + (pi - acos(cov12/sqrt(var1*var2)))*cov12) / (2.2*pi)\n',
    );
    expect(run(['verify', 'wrong.nngp', '--points', '5'], dir).status).toBe(1);
    expect(run(['verify', 'erf.nngp'], dir).status).toBe(1); // no '# fn:' line and no --fn
    // 24 points a group: at 5, one point of 3 bits decides whether a mean is under 1.
    const acc = run(['accuracy', join(ROOT, 'fixtures/activations/relu.nngp'), '--points', '24'], dir);
    expect(acc.status, acc.stderr).toBe(0);
    expect(acc.stdout).toMatch(/interior nngp \/ d/);
  });
});

describe('CLI as a user meets it', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nngpc-cli2-'));
    writeFileSync(join(dir, 'erf.nngp'), readFileSync(join(ROOT, 'fixtures/activations/erf.nngp')));
    writeFileSync(join(dir, 'expn.nngp'), readFileSync(join(ROOT, 'fixtures/activations/exp_normalized.nngp')));
  });

  it('every subcommand has --help and -h; help <command> too', () => {
    for (const cmd of ['compile', 'derive', 'verify', 'accuracy']) {
      for (const flag of ['--help', '-h']) {
        const r = run([cmd, flag], dir);
        expect(r.status, `${cmd} ${flag}`).toBe(0);
        expect(r.stdout).toContain(`Usage: nngpc ${cmd}`);
      }
    }
    expect(run(['compile', '--help'], dir).stdout).toContain('--out-dir DIR');
    expect(run(['help', 'verify'], dir).stdout).toContain('--fn EXPR');
    const bad = run(['compile', '--frobnicate', 'x.nngp'], dir);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("compile: unknown option '--frobnicate'");
    expect(bad.stderr).toContain("Run 'nngpc compile --help'");
  });

  it('verify skips a source without an activation, saying so, and passes on the rest; no progress off a TTY', () => {
    const r = run(['verify', '*.nngp', '--points', '3'], dir);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/expn\.nngp +- +skipped: no '# fn:' line/);
    expect(r.stdout).toContain('verified 1 of 2 files (1 skipped): all within 1e-8');
    expect(r.stderr).not.toContain('\r');
    const none = run(['verify', 'expn.nngp'], dir);
    expect(none.status).toBe(1);
    expect(none.stdout).toContain('nothing verified');
  });

  it('verify and accuracy show progress on a terminal', () => {
    const cmd = `${process.execPath} ${CLI} verify '*.nngp' --points 3`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: dir, encoding: 'utf8' });
    expect(r.stdout).toContain('[1/2] verifying erf.nngp');
    expect(r.stdout).toContain('\r');
  });

  it('mirrors directories under --out-dir; refuses two sources writing one module, naming both', () => {
    mkdirSync(join(dir, 'coll/a'), { recursive: true });
    mkdirSync(join(dir, 'coll/b'), { recursive: true });
    writeFileSync(join(dir, 'coll/a/k.nngp'), 'cov12^2');
    writeFileSync(join(dir, 'coll/b/k.nngp'), 'cov12^3');
    const r = run(['compile', 'coll/**/*.nngp', '-o', 'out'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'out/a/k.ts'), 'utf8')).toContain('cov12^2');
    expect(readFileSync(join(dir, 'out/b/k.ts'), 'utf8')).toContain('cov12^3');
    expect(r.stdout).toContain('compiled 2 files: 2 written, 0 up to date');
    expect(run(['compile', 'coll/**/*.nngp', '-o', 'out', '--check'], dir).stdout).toContain(
      'checked 2 files: 2 up to date, 0 stale or missing',
    );
    writeFileSync(join(dir, 'coll/a/k.math'), 'cov12^4');
    const clash = run(['compile', 'coll/a/k.nngp', 'coll/a/k.math', '-o', 'out'], dir);
    expect(clash.status).toBe(2);
    expect(clash.stderr).toContain('coll/a/k.nngp and coll/a/k.math would both write out/k.ts');
    // Brace globs.
    const braces = run(['compile', 'coll/{a,b}/k.nngp', '-o', 'out2'], dir);
    expect(braces.status, braces.stderr).toBe(0);
    expect(existsSync(join(dir, 'out2/a/k.ts')) && existsSync(join(dir, 'out2/b/k.ts'))).toBe(true);
  });

  it('names missing files, directories, binary and non-UTF-8 input; strips a BOM; never says internal error', () => {
    const cases: [string[], RegExp][] = [
      [['verify', 'nope.nngp'], /nngpc: nope\.nngp: no such file/],
      [['accuracy', 'nope.nngp'], /nngpc: nope\.nngp: no such file/],
      [['compile', 'nope.nngp'], /nngpc: nope\.nngp: no such file/],
      [['derive', 'nope.nngp'], /nngpc: nope\.nngp: no such file/],
      [['compile', 'coll'], /nngpc: coll: is a directory \(give the files in it, or a glob such as 'dir\/\*\.nngp'\)/],
    ];
    writeFileSync(join(dir, 'bin.nngp'), Buffer.from([0x63, 0x00, 0x01, 0xff]));
    writeFileSync(join(dir, 'latin1.nngp'), Buffer.from('cov12 * 2 # caf\xe9', 'latin1'));
    cases.push([['compile', 'bin.nngp'], /bin\.nngp: is a binary file, not text/]);
    cases.push([['compile', 'latin1.nngp'], /latin1\.nngp: is not UTF-8 text/]);
    for (const [args, re] of cases) {
      const r = run(args, dir);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(re);
      expect(r.stderr).not.toMatch(/internal error|ENOENT|EISDIR|U\+FFFD/);
    }
    writeFileSync(join(dir, 'bom.nngp'), '\uFEFFcov12^2\n');
    expect(run(['derive', 'bom.nngp'], dir).stdout.trim()).toBe('2*cov12');
  });

  it('a broken symbolic link or a link loop in a glob is skipped, said so; the other files compile', () => {
    const d = join(dir, 'links');
    mkdirSync(d);
    writeFileSync(join(d, 'ok.nngp'), 'cov12');
    symlinkSync(join(d, 'gone.nngp'), join(d, 'broken.nngp'));
    symlinkSync(join(d, 'loop.nngp'), join(d, 'loop.nngp'));
    symlinkSync(d, join(d, 'sub'));
    const r = run(['compile', 'links/**/*.nngp'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(d, 'ok.ts'))).toBe(true);
    expect(r.stderr).toContain('skipped links/broken.nngp: a broken symbolic link');
    expect(r.stderr).toContain('skipped links/loop.nngp: a symbolic link that loops');
  });

  it('usage mistakes: a value missing, conflicting options, params naming inputs, unused params', () => {
    const usage = (args: string[], text: string) => {
      const r = run(args, dir);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(text);
    };
    usage(['derive', 'cov12', '--params'], 'option --params needs a value, e.g. --params alpha=0.5');
    usage(['compile', 'erf.nngp', '--params', '--check'], 'option --params needs a value');
    usage(['compile', 'erf.nngp', '-o', 'x', '--out-file', 'y.ts'], 'give --out-dir or --out-file, not both');
    usage(['compile', 'erf.nngp', '--watch', '--check'], '--watch and --check do not go together');
    const input = run(['derive', 'cov12 * a', '--params', 'a=1,cov12=2'], dir);
    expect(input.status).toBe(1);
    expect(input.stderr).toContain("param 'cov12' names an input");
    const unused = run(['derive', 'cov12 * a', '--params', 'a=1,zzz=2'], dir);
    expect(unused.status).toBe(0);
    expect(unused.stderr).toContain("warning: <expression>: param 'zzz' is not used by the source");
    // A mistyped path is not compiled as an expression.
    expect(run(['derive', 'fixtures/nope.nngp'], dir).stderr).not.toContain('--params');
  });

  it('the stale hint repeats the whole command; --json for compile --check, derive, verify, accuracy', () => {
    expect(run(['compile', 'erf.nngp', '-o', 'j', '--target', 'js', '--params', 'a=2'], dir).status).toBe(0);
    writeFileSync(join(dir, 'j/erf.js'), 'edited');
    const stale = run(['compile', 'erf.nngp', '-o', 'j', '--target', 'js', '--params', 'a=2', '--check'], dir);
    expect(stale.status).toBe(1);
    expect(stale.stderr).toContain('j/erf.js is stale (run nngpc compile erf.nngp -o j --target js --params a=2)');
    const check = run(
      ['compile', 'erf.nngp', '-o', 'j', '--target', 'js', '--params', 'a=2', '--check', '--json'],
      dir,
    );
    expect(JSON.parse(check.stdout)).toMatchObject({
      files: [{ source: 'erf.nngp', output: 'j/erf.js', status: 'stale' }],
      summary: { files: 1, stale: 1 },
    });
    expect(JSON.parse(run(['derive', 'cov12^2', '--json'], dir).stdout)).toEqual({
      source: '<expression>',
      nngp: 'cov12^2',
      dNngp: '2*cov12',
      derivativeSource: 'symbolic',
      warnings: [],
    });
    const v = JSON.parse(run(['verify', 'erf.nngp', '--points', '3', '--json'], dir).stdout);
    expect(v.ok).toBe(true);
    expect(v.files[0]).toMatchObject({ file: 'erf.nngp', status: 'ok', report: { points: 3 } });
    const a = JSON.parse(run(['accuracy', 'erf.nngp', '--points', '3', '--json'], dir).stdout);
    expect(a.ok).toBe(a.files[0].misses.length === 0);
    expect(a.files[0].report.groups.interior.nngp.mean).toBeGreaterThanOrEqual(0);
  });
});
