// Loading the addon (a prebuild from prebuilds/ when one fits, else build/) and its typed surface.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExecutorStats } from './executor';

/** A private libuv loop: one call per turn returns that turn's events as one flat array. */
export interface NativeLoop {
  /** Blocks at most `timeoutMs` (< 0: no limit); returns [tag, id, value]* or undefined. */
  wait(timeoutMs: number): unknown[] | undefined;
  /** Host mode: Node's loop watches this loop and hands each batch to `onBatch`. */
  drive(onBatch: (batch: unknown[]) => void): void;
  setRef(ref: boolean): void;
  watch(fd: number, events: number): void;
  watchSignal(signum: number, on: boolean): void;
  watchInterrupt(on: boolean): void;
  wake(): void;
  id(): number;
  close(): void;
}

export interface NativePoolStats extends ExecutorStats {
  shutdown: boolean;
}

export interface NativePool {
  submitTask(loop: NativeLoop, id: number, name: string, ...args: unknown[]): number;
  submitJs(
    loop: NativeLoop,
    id: number,
    kind: number,
    source: string,
    exportName: string,
    args: Uint8Array,
    group: number,
  ): number;
  cancel(loop: NativeLoop, id: number): boolean;
  resize(maxWorkers: number): void;
  stats(): NativePoolStats;
  shutdown(cancelQueued: boolean): void;
  whenDrained(loop: NativeLoop, token: number): void;
  id(): number;
}

export interface NativeRunner {
  take(): [kind: number, source: string, exportName: string, args: Uint8Array] | undefined;
  finish(ok: boolean, bytes: Uint8Array): void;
  detach(): void;
  /** Detaches unless JS work waits; false: take it. */
  leaveIfIdle(): boolean;
  shouldLeave(): boolean;
}

export interface PoolOptionsNative {
  maxWorkers: number;
  name: string;
  maxQueue: number;
  idleTimeout: number;
  default?: boolean;
}

interface Addon {
  NativeLoop: new () => NativeLoop;
  NativePool: new (options: PoolOptionsNative | number) => NativePool;
  NativeRunner: new (poolId: number, group: number, onWake: () => void) => NativeRunner;
  post(loopId: number, bytes: Uint8Array): boolean;
  runnerFailed(poolId: number, group: number): void;
  runTask(name: string, ...args: unknown[]): unknown;
  digestSupported(name: string): boolean;
}

/** Tags of a batch's [tag, id, value] triples (native/binding/loop_wrap.cc). */
export const enum Tag {
  WorkDone = 1,
  WorkFailed = 2,
  WorkCancelled = 3,
  Message = 4,
  Ready = 5,
  Signal = 6,
  Interrupted = 7,
  Drained = 8,
  Bytes = 9,
  Call = 10,
  RunnerWanted = 11,
}

/** Submit results (native/binding/pool_wrap.cc). */
export const enum SubmitCode {
  Ok = 0,
  OkStartRunner = 1,
  Shutdown = -1,
  QueueFull = -2,
}

export const READABLE = 1;
export const WRITABLE = 2;

/** The package's root: where package.json, build/ and prebuilds/ are. */
export const packageRoot: string = (() => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) || !fs.existsSync(path.join(dir, 'binding.gyp'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(__dirname, '..', '..');
    dir = parent;
  }
  return dir;
})();

// EVLOOP_ADDON=/path/to/evloop.node loads that build instead (the sanitizer runs, scripts/test-sanitize.sh).
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const addon: Addon = process.env.EVLOOP_ADDON ? require(path.resolve(process.env.EVLOOP_ADDON)) : require('node-gyp-build')(packageRoot);
