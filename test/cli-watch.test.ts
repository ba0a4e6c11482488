// `nngpc compile --watch` for real: the CLI is started, and sources are edited in place, saved
// atomically (a temporary file renamed over the source, as editors do), edited with `sed -i`,
// broken and fixed, and created; each time the module must follow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

const CLI = join(ROOT, 'dist', 'cli.js');

describe('nngpc compile --watch', () => {
  let dir: string;
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nngpc-watch-cli-'));
    writeFileSync(join(dir, 'w.nngp'), 'cov12^2');
    child = spawn(process.execPath, [CLI, 'compile', '*.nngp', '-o', 'gen', '--watch'], { cwd: dir });
    child.stdout!.on('data', (b) => (stdout += String(b)));
    child.stderr!.on('data', (b) => (stderr += String(b)));
  });
  afterAll(() => {
    child.kill();
  });

  // Generous deadlines: the rest of the suite keeps both cores busy meanwhile.
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
    return cond();
  };
  const module = (name: string) => {
    const f = join(dir, 'gen', `${name}.ts`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  };
  const settle = () => new Promise((r) => setTimeout(r, 200));

  it('follows in-place edits, atomic saves, sed -i, errors and new files', async () => {
    expect(await until(() => stdout.includes('watching'))).toBe(true);
    expect(module('w')).toContain('cov12^2');
    // Atomic save: write a temporary file, rename it over the source.
    writeFileSync(join(dir, '.w.nngp.swp'), 'cov12^3');
    renameSync(join(dir, '.w.nngp.swp'), join(dir, 'w.nngp'));
    expect(await until(() => module('w').includes('cov12^3'))).toBe(true);
    await settle();
    // After an atomic save, in-place edits are still seen.
    writeFileSync(join(dir, 'w.nngp'), 'cov12^4');
    expect(await until(() => module('w').includes('cov12^4'))).toBe(true);
    await settle();
    expect(spawnSync('sed', ['-i', 's/\\^4/^5/', join(dir, 'w.nngp')]).status).toBe(0);
    expect(await until(() => module('w').includes('cov12^5'))).toBe(true);
    await settle();
    // An error is reported and the watch keeps running; the module keeps its last good text.
    writeFileSync(join(dir, 'w.nngp'), 'x = cov12\nfoo(x)');
    expect(await until(() => stderr.includes("unknown function 'foo'"))).toBe(true);
    expect(child.exitCode).toBeNull();
    expect(module('w')).toContain('cov12^5');
    await settle();
    writeFileSync(join(dir, 'w.nngp'), 'cov12^6');
    expect(await until(() => module('w').includes('cov12^6'))).toBe(true);
    // A new file matching the glob is compiled.
    writeFileSync(join(dir, 'n.nngp'), 'cov12^7');
    expect(await until(() => module('n').includes('cov12^7'))).toBe(true);
  });
});
