import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, statSync } from 'node:fs';
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
    expect(r.status).toBe(1);
    expect(readFileSync(join(dir, 'k.js'), 'utf8')).toBe('cov12');
  });

  it('derive prints the derivative of a file, an expression, or stdin', () => {
    expect(run(['derive', 'erf.nngp'], dir).stdout.trim()).toBe(
      '4/(sqrt(1 - 4*cov12^2 + 2*var1 + 2*var2 + 4*var1*var2)*pi)',
    );
    expect(run(['derive', 'a*cov12^2', '--params', 'a=3'], dir).stdout.trim()).toBe('6*cov12');
    expect(run(['derive', '-'], dir, 'exp(2*cov12)').stdout.trim()).toBe('2*exp(2*cov12)');
    expect(run(['derive', 'cov12', '--params', 'a=x'], dir).status).toBe(2);
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
    const acc = run(['accuracy', join(ROOT, 'fixtures/activations/relu.nngp'), '--points', '5'], dir);
    expect(acc.status, acc.stderr).toBe(0);
    expect(acc.stdout).toMatch(/interior nngp \/ d/);
  });

  it('--watch recompiles on change and keeps running through errors', async () => {
    const { spawn } = await import('node:child_process');
    writeFileSync(join(dir, 'w.nngp'), 'cov12^2');
    const child = spawn(process.execPath, [CLI, 'compile', 'w.nngp', '-o', 'wgen', '--watch'], { cwd: dir });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (b) => {
      stderr += String(b);
    });
    child.stdout.on('data', (b) => {
      stdout += String(b);
    });
    const out = join(dir, 'wgen', 'w.ts');
    // Generous deadlines: the rest of the suite keeps both cores busy meanwhile.
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
      return cond();
    };
    try {
      // Edit only once the watcher is registered (it says so).
      expect(await until(() => stdout.includes('watching'))).toBe(true);
      expect(existsSync(out) && readFileSync(out, 'utf8').includes('cov12^2')).toBe(true);
      writeFileSync(join(dir, 'w.nngp'), 'x = cov12\nfoo(x)');
      expect(await until(() => stderr.includes("unknown function 'foo'"))).toBe(true);
      expect(child.exitCode).toBeNull(); // still running
      writeFileSync(join(dir, 'w.nngp'), 'cov12^3');
      expect(await until(() => readFileSync(out, 'utf8').includes('cov12^3'))).toBe(true);
    } finally {
      child.kill();
    }
  });
});
