#!/usr/bin/env node
// The nngpc executable (package.json "bin"): runs the command line of cli/main.ts.
import { main } from './cli/main.js';

const code = main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
