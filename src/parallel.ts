// Both cores (Node only, `nngpc/parallel`): the compiled kernel map over row blocks, one block per
// thread, the calling thread computing one of them. Workers are started once and reused; each
// runs the very module the kernel was compiled to (its JavaScript body), on row blocks of the
// same arrays in shared memory, so the result is bit for bit the single-threaded one (every
// entry is computed by the same code from the same doubles). Below `minEntries` the calling
// thread does it all (starting and synchronizing threads costs more than it saves). Arrays in
// SharedArrayBuffers are used as they are; of others, the rows the workers read are copied into
// shared scratch kept between calls (a copy is ~1 ns per entry, a fresh shared array's first touch
// several), while the calling thread reads its own block from the caller's arrays.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { printModule } from './emit/module.js';
import { instantiate } from './compile.js';
import type { CompiledKernel, KernelInput, KernelOptions, KernelOutput } from './types.js';

export interface ParallelOptions {
  /** Threads in all, the calling one included (default: the machine's available parallelism). */
  readonly threads?: number;
  /** Kernels with fewer entries (n1 × n2) run on the calling thread alone (default 1048576 = 1024², from the benchmark's sizes). */
  readonly minEntries?: number;
}

export interface ParallelKernel {
  /** kernel(), as the compiled one (same semantics, checks and doubles), on `threads` threads. */
  kernel(input: KernelInput, options?: KernelOptions): KernelOutput;
  readonly threads: number;
  /** Stops the worker threads (they do not keep the process alive meanwhile). */
  close(): Promise<void>;
}

/** What a worker runs: the module body, then row blocks on request, signalling completion through `done`. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const mod = new Function(workerData.body)();
parentPort.on('message', (m) => {
  try {
    mod.kernel(m.input, { out: m.out });
    Atomics.store(m.done, m.slot, 1);
  } catch (e) {
    Atomics.store(m.done, m.slot, 2);
  }
  Atomics.notify(m.done, m.slot);
});
`;

const shared = (a: Float64Array): boolean => a.buffer instanceof SharedArrayBuffer;

const sharedArray = (n: number) => new Float64Array(new SharedArrayBuffer(8 * n));

/** Shared scratch arrays kept between calls (kernel() is synchronous: one call uses them at a time). */
class Scratch {
  private readonly arrays = new Map<string, Float64Array>();
  get(slot: string, n: number): Float64Array {
    let a = this.arrays.get(slot);
    if (!a || a.length < n) this.arrays.set(slot, (a = sharedArray(n)));
    return a.subarray(0, n);
  }
  /** `a` itself when it is already shared, else its copy in the slot from index `from` on (before it, stale). */
  copy(slot: string, a: Float64Array, from = 0): Float64Array {
    if (shared(a)) return a;
    const s = this.get(slot, a.length);
    s.set(from ? a.subarray(from) : a, from);
    return s;
  }
}

/**
 * The kernel map of a compiled kernel on several threads. The returned object's kernel() is
 * synchronous: the calling thread computes the first row block and waits for the others.
 */
export function parallelKernel(
  compiled: Pick<CompiledKernel, 'kernel' | 'ir'>,
  options: ParallelOptions = {},
): ParallelKernel {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > 256)
    throw new RangeError(
      `parallelKernel: options.threads must be a whole number from 1 to 256, got ${String(threads)}`,
    );
  const minEntries = options.minEntries ?? 1048576;
  if (!Number.isInteger(minEntries) || minEntries < 0)
    throw new RangeError(`parallelKernel: options.minEntries must be a whole number >= 0, got ${String(minEntries)}`);
  if (compiled === null || typeof compiled !== 'object' || !compiled.ir?.module)
    throw new TypeError('parallelKernel: expected a compiled kernel (compile(), fromActivation() or activations.*())');
  const body = printModule(compiled.ir.module, { target: 'js', form: 'body' });
  const local = instantiate(body);
  let workers: Worker[] | undefined;
  const scratch = new Scratch();
  const start = () =>
    (workers ??= Array.from({ length: threads - 1 }, () => {
      const w = new Worker(WORKER, { eval: true, workerData: { body } });
      w.unref();
      return w;
    }));

  const kernel = (input: KernelInput, kernelOptions?: KernelOptions): KernelOutput => {
    // Small kernels, and any input or out the module's kernel would reject (it then throws its
    // own message), on this thread.
    if (
      !inputIsValid(input, kernelOptions) ||
      input.nngp.length < minEntries ||
      Math.min(threads, input.cov1.length) < 2
    )
      return local.kernel(input, kernelOptions);
    const n1 = input.cov1.length;
    const n2 = input.cov2?.length ?? n1;
    const rows = Math.min(threads, n1);
    const pool = start();
    // Block b's rows: [firstRow(b), firstRow(b + 1)). The workers' blocks (b >= 1) read shared
    // copies; block 0, on this thread, reads the caller's arrays (the same doubles).
    const firstRow = (b: number) => Math.floor((b * n1) / rows);
    const K = scratch.copy('nngp', input.nngp, firstRow(1) * n2);
    const T = input.ntk && scratch.copy('ntk', input.ntk, firstRow(1) * n2);
    const C1 = scratch.copy('cov1', input.cov1);
    const C2 = input.cov2 ? scratch.copy('cov2', input.cov2) : C1;
    const want = kernelOptions?.out;
    // Outputs in shared memory: the caller's when they are shared; scratch copied into the
    // caller's otherwise; new shared arrays (returned) without out.
    const direct = want && [want.nngp, want.ntk, want.cov1, want.cov2].every((a) => a === undefined || shared(a));
    const fresh = (slot: string, n: number) => (want ? scratch.get(`out.${slot}`, n) : sharedArray(n));
    const out: KernelOutput =
      direct && want
        ? want
        : {
            nngp: fresh('nngp', K.length),
            ...(T ? { ntk: fresh('ntk', K.length) } : {}),
            cov1: fresh('cov1', n1),
            ...(input.cov2 ? { cov2: fresh('cov2', n2) } : {}),
          };
    const done = new Int32Array(new SharedArrayBuffer(4 * rows));
    const block = (b: number) => {
      const i0 = firstRow(b),
        i1 = firstRow(b + 1);
      const [k, t, c1, c2] = b === 0 ? [input.nngp, input.ntk, input.cov1, input.cov2 ?? input.cov1] : [K, T, C1, C2];
      return {
        input: {
          nngp: k.subarray(i0 * n2, i1 * n2),
          cov1: c1.subarray(i0, i1),
          cov2: c2,
          ...(t ? { ntk: t.subarray(i0 * n2, i1 * n2) } : {}),
        },
        out: {
          nngp: out.nngp.subarray(i0 * n2, i1 * n2),
          // The variances' own maps go to scratch, copied out once every block is done: written in
          // place during the run they would change the column variances other blocks still read.
          cov1: rowsOut.subarray(i0, i1),
          cov2: scratch.get(`columns.${b}`, n2),
          ...(out.ntk ? { ntk: out.ntk.subarray(i0 * n2, i1 * n2) } : {}),
        },
      };
    };
    const rowsOut = scratch.get('rows', n1);
    for (let b = 1; b < rows; b++) pool[b - 1]!.postMessage({ ...block(b), done, slot: b });
    const first = block(0);
    local.kernel(first.input, { out: first.out });
    for (let b = 1; b < rows; b++) {
      Atomics.wait(done, b, 0);
      if (Atomics.load(done, b) !== 1) throw new Error(`parallelKernel: worker ${b} failed`);
    }
    out.cov1.set(rowsOut);
    if (out.cov2) out.cov2.set(scratch.get('columns.0', n2));
    if (direct && want) return want;
    if (want) {
      want.nngp.set(out.nngp);
      want.cov1.set(out.cov1);
      if (want.ntk && out.ntk) want.ntk.set(out.ntk);
      if (want.cov2 && out.cov2) want.cov2.set(out.cov2);
      return want;
    }
    return out;
  };
  return {
    kernel,
    threads,
    close: async () => {
      const ws = workers ?? [];
      workers = undefined;
      await Promise.all(ws.map((w) => w.terminate()));
    },
  };
}

/** Whether the module's kernel would accept input and options (without allocating anything). */
function inputIsValid(input: KernelInput, options: KernelOptions | undefined): boolean {
  if (input === null || typeof input !== 'object') return false;
  const { nngp, ntk, cov1, cov2 } = input;
  if (!(nngp instanceof Float64Array) || !(cov1 instanceof Float64Array)) return false;
  if (cov2 !== undefined && !(cov2 instanceof Float64Array)) return false;
  if (ntk !== undefined && !(ntk instanceof Float64Array && ntk.length === nngp.length)) return false;
  if (nngp.length !== cov1.length * (cov2 ?? cov1).length) return false;
  const out = options?.out;
  if (out === undefined) return true;
  if (out === null || typeof out !== 'object') return false;
  const names = ['nngp', 'cov1', 'ntk', 'cov2'] as const;
  const present = names.filter((name) => input[name] !== undefined);
  const overlaps = (a: Float64Array, b: Float64Array) =>
    a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
  return present.every((name, i) => {
    const a = out[name];
    if (!(a instanceof Float64Array) || a.length !== input[name]!.length) return false;
    const clearOfInputs = names.every((o) => {
      const b = input[o];
      if (!b || !overlaps(a, b)) return true;
      return o === name && a.byteOffset === b.byteOffset && a.length === b.length;
    });
    return clearOfInputs && present.slice(i + 1).every((o) => out[o] === undefined || !overlaps(a, out[o]));
  });
}
