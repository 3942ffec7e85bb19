// The examples run as documented (they are part of the README's promise).
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { root } from './harness';

function node(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
}

it('examples/server.js answers /ping and hashes on the pool while libuv\'s pool is busy', () => {
  const r = node(['examples/server.js', '--self-test']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('/ping -> pong');
  expect(r.stdout).toContain(crypto.createHash('sha256').update('hello').digest('hex'));
});

it('examples/cli-digest.js prints the sha256 of each file, as sha256sum does', () => {
  const files = ['package.json', 'binding.gyp'];
  const r = node(['examples/cli-digest.js', ...files]);
  expect(r.status).toBe(0);
  const expected = files
    .map((f) => `${crypto.createHash('sha256').update(fs.readFileSync(path.join(root, f))).digest('hex')}  ${f}`)
    .join('\n');
  expect(r.stdout.trim()).toBe(expected);
});
