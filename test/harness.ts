// Shared test helpers: run the same behaviour on a private loop and on the host loop, and run
// scripts that must drive promises in a child CommonJS process (vitest bodies are microtasks).
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
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

/** A Future that is done once `loop` has run `turns` more turns. */
export function afterTurns(loop: EventLoop, turns: number): Future<void> {
  const f = loop.createFuture<void>();
  const step = (left: number) => {
    if (left === 0) f.setResult();
    else loop.callSoon(step, left - 1);
  };
  loop.callSoon(step, turns - 1);
  return f;
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

// ---- asynchronous children ---------------------------------------------------------------------

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  lines: string[];
  timedOut: boolean;
  ms: number;
  /** ms from the child's first "ready" line to its exit, or NaN */
  sinceReady: number;
  /** the last stdout line, parsed as JSON (undefined if it is not JSON) */
  out: any;
}

export interface SpawnOptions {
  /** killed (SIGKILL) after this long */
  timeoutMs?: number;
  env?: Record<string, string>;
  /** sees each stdout line as it arrives, with the child (to signal it or write to its stdin) */
  onLine?: (line: string, child: ChildProcess) => void;
}

// Children of one test file that run at once: enough to overlap waits, few for a loaded CI box.
const MAX_CHILDREN = 2;
let running = 0;
const waiting: (() => void)[] = [];

/** `node <args>` in the package root, asynchronously and bounded; resolves when it exits. */
export async function spawnNode(args: string[], options: SpawnOptions = {}): Promise<ChildResult> {
  if (running >= MAX_CHILDREN) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await spawnNow(args, options);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Runs CommonJS `source` (with `evloop` bound) as spawnNode does; `nodeArgs` come before it. */
export function spawnSource(source: string, options: SpawnOptions & { nodeArgs?: string[] } = {}): Promise<ChildResult> {
  return spawnNode([...(options.nodeArgs ?? []), '-e', `const evloop = require(${JSON.stringify(entry)});\n${source}`], options);
}

function spawnNow(args: string[], { timeoutMs = 3 * BOUND_MS, env = {}, onLine }: SpawnOptions): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    let timedOut = false;
    let readyAt = NaN;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdin!.on('error', () => {}); // a child that exits before reading what we write
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line === 'ready' && Number.isNaN(readyAt)) readyAt = Date.now();
        onLine?.(line, child);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter(Boolean);
      let out: any;
      try {
        out = JSON.parse(lines.at(-1) ?? '');
      } catch {
        out = undefined;
      }
      resolve({ code, signal, stdout, stderr, lines, timedOut, ms: Date.now() - start, sinceReady: Date.now() - readyAt, out });
    });
  });
}

/** What a failed expectation about a child prints. */
export function describeChild(r: ChildResult): string {
  return `code=${r.code} signal=${r.signal} timedOut=${r.timedOut} ms=${r.ms} sinceReady=${r.sinceReady}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}
