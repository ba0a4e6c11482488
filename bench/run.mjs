// npm run bench: accuracy and speed tables. Not a test: nothing here asserts a time.
import os from 'node:os';
import { runAccuracy } from './accuracy.mjs';
import { runNumeric } from './numeric.mjs';
import { runSpeed } from './speed.mjs';

const only = process.argv[2];
console.log(
  `nngpc benchmark, ${new Date().toISOString().slice(0, 10)}, ${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}, Node ${process.version}`,
);
if (!only || only === 'accuracy') runAccuracy();
if (!only || only === 'numeric') runNumeric();
if (!only || only === 'speed') await runSpeed({ n: Number(process.env.BENCH_N ?? 2048) });
