// Reading a source file from disk for the CLI and the plugin: its text, or a reason a user can
// act on (no such file, a directory, not UTF-8 text), never a bare errno.
import { readFileSync } from 'node:fs';

/** A file nngpc cannot take as a source; `message` names the file and says why. */
export class UnreadableSource extends Error {
  constructor(
    readonly file: string,
    readonly why: string,
  ) {
    super(`${file}: ${why}`);
    this.name = 'UnreadableSource';
  }
}

const ERRNO: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: "is a directory (give the files in it, or a glob such as 'dir/*.nngp')",
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'a symbolic link that loops',
  ENOTDIR: 'no such file (a part of the path is not a directory)',
  ENAMETOOLONG: 'the path is too long',
};

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The text of a source file (0: standard input, named `<stdin>`); throws UnreadableSource. */
export function readSource(file: string | 0): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new UnreadableSource(shown(file), ERRNO[code] ?? `cannot be read (${code || String(e)})`);
  }
  if (bytes.includes(0)) throw new UnreadableSource(shown(file), 'is a binary file, not text');
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new UnreadableSource(shown(file), 'is not UTF-8 text');
  }
}

const shown = (file: string | 0) => (file === 0 ? '<stdin>' : file);
