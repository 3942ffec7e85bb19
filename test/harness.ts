// Shared test helpers: run the same behaviour on a private loop and on the host loop, and run
// scripts that must drive promises in a child CommonJS process (vitest bodies are microtasks).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as path from 'node:path';
import * as evloop from '../dist/cjs/index.js';
import type { EventLoop, Future } from '../dist/cjs/index.js';

export { evloop };
export const root = path.resolve(__dirname, '..');
export const entry = path.join(root, 'dist/cjs/index.js');

/** How long any single wait in a test may take before the test fails instead of hanging. */
export const BOUND_MS = 10_000;

export interface LoopKind {
  name: 'private' | 'host';
  /** A loop of this kind: a new private loop, or this thread's host loop. */
  make(): EventLoop;
  /** Waits (bounded) for `future`, returning its result or throwing its error. */
  drive<T>(loop: EventLoop, future: Future<T>): Promise<T>;
  /** Releases what make() returned. */
  dispose(loop: EventLoop): void;
}

export const privateLoop: LoopKind = {
  name: 'private',
  make: () => evloop.newEventLoop(),
  async drive(loop, future) {
    // A generator-free bound: a timer that stops the loop if the future is not done in time.
    const guard = loop.callLater(BOUND_MS, () => loop.stop());
    try {
      return loop.runUntilComplete(future);
    } finally {
      guard.cancel();
    }
  },
  dispose: (loop) => {
    if (!loop.isClosed()) loop.close();
  },
};

export const hostLoopKind: LoopKind = {
  name: 'host',
  make: () => evloop.hostLoop(),
  async drive(loop, future) {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not done within ${BOUND_MS} ms`)), BOUND_MS);
    });
    try {
      return await Promise.race([Promise.resolve(future), bound]);
    } finally {
      clearTimeout(timer);
    }
  },
  dispose: () => {},
};

/** Parametrize with describe.each(LOOP_KINDS)('%s loop', ...) via `kind.name`. */
export const LOOP_KINDS: LoopKind[] = [privateLoop, hostLoopKind];

/**
 * Runs `source` (CommonJS) in a child node process with `evloop` bound to the package entry,
 * bounded by `timeoutMs`. Returns the spawn result; stdout/stderr as strings.
 */
export function runChild(
  source: string,
  { timeoutMs = BOUND_MS, env = {}, args = [] }: { timeoutMs?: number; env?: Record<string, string>; args?: string[] } = {},
): SpawnSyncReturns<string> {
  const prelude = `const evloop = require(${JSON.stringify(entry)});\n`;
  return spawnSync(process.execPath, [...args, '-e', prelude + source], {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    env: { ...process.env, ...env },
    cwd: root,
  });
}

/** The error `fn` throws (the test fails when it throws none). */
export function thrown(fn: () => unknown): any {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw, got none');
}
