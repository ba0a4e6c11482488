import { compile } from './src/index.js';
import { readFileSync } from 'node:fs';
const d = JSON.parse(readFileSync('fixtures/reference/' + process.argv[2] + '.json', 'utf8'));
const k = compile(d.math ?? d.py, { params: d.params, target: 'js' });
console.log(k.code.split('export function kernel')[0].split('/** nngp_fn')[1]);
