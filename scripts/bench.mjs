#!/usr/bin/env node
// npm run bench [-- --json] [-- --quick]: runs the benchmarks (TypeScript through tsx) and prints
// their JSON on stdout. `--expose-gc` lets the peers bench measure RSS after a collection.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(root, 'bench', 'net.ts'), ...args], { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
