#!/usr/bin/env node
import { enableCompileCache } from 'node:module';

// Every command is a fresh process that type-strips its modules; Node's compile cache keeps the result on disk
// (under the OS temp dir) so a short command such as `agents revoke` does not pay for it on every run.
enableCompileCache();
const { runCli } = await import('../src/cli/main.ts');

process.exitCode = await runCli(process.argv);
