// Descriptor watchers: addReader/removeReader/addWriter/removeWriter, level-triggered as asyncio's
// selector loop, on real FIFOs and TCP loopback sockets, on the private and the host loop.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOUND_MS, LOOP_KINDS, entry, evloop, runChild, type LoopKind } from './harness';
import type { EventLoop, Future } from '../dist/cjs/index.js';

const { O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK } = fs.constants;

let dir: string;
let fifoCount = 0;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-watchers-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function mkfifo(): string {
  const p = path.join(dir, `fifo-${fifoCount++}`);
  execFileSync('mkfifo', [p]);
  return p;
}

/** A real pipe (a FIFO): a non-blocking read end and a non-blocking write end. */
function makePipe(): { r: number; w: number; close(): void } {
  const p = mkfifo();
  const r = fs.openSync(p, O_RDONLY | O_NONBLOCK);
  const w = fs.openSync(p, O_WRONLY | O_NONBLOCK);
  let closed = false;
  return {
    r,
    w,
    close() {
      if (closed) return;
      closed = true;
      fs.closeSync(r);
      fs.closeSync(w);
    },
  };
}

/** Reads what is there (non-blocking); null at EAGAIN, an empty buffer at EOF. */
function readSome(fd: number, size = 65536): Buffer | null {
  const buf = Buffer.alloc(size);
  try {
    const n = fs.readSync(fd, buf, 0, size, null);
    return buf.subarray(0, n);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return null;
    throw error;
  }
}

/** Writes what fits (non-blocking); 0 at EAGAIN. */
function writeSome(fd: number, data: Buffer): number {
  try {
    return fs.writeSync(fd, data, 0, data.length, null);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return 0;
    throw error;
  }
}

/** Fills a non-blocking pipe until it takes no more; returns how many bytes went in. */
function fill(fd: number): number {
  const chunk = Buffer.alloc(65536, 0x61);
  let total = 0;
  for (;;) {
    const n = writeSome(fd, chunk);
    if (n === 0) return total;
    total += n;
  }
}

/** Runs `n` turns that each wait on the loop's poll (a chain of short timers), then settles `f`. */
function pollingTurns(loop: EventLoop, n: number, f: Future<void>, each?: () => void): void {
  let left = n;
  const step = () => {
    each?.();
    if (--left <= 0) f.setResult();
    else loop.callLater(1, step);
  };
  loop.callLater(1, step);
}

/** A connected TCP pair over loopback whose Node streams do not read: the descriptors are ours. */
async function tcpPair(): Promise<{ a: net.Socket; b: net.Socket; fa: number; fb: number; close(): void }> {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const a = new net.Socket();
  a.pause();
  await new Promise<void>((resolve, reject) => {
    a.once('error', reject);
    a.connect(port, '127.0.0.1', resolve);
  });
  const b = await accepted;
  server.close();
  for (const s of [a, b]) {
    s.pause();
    (s as unknown as { _handle: { readStop(): void } })._handle.readStop();
  }
  const fd = (s: net.Socket) => (s as unknown as { _handle: { fd: number } })._handle.fd;
  const fa = fd(a);
  const fb = fd(b);
  expect(fa).toBeGreaterThan(2);
  expect(fb).toBeGreaterThan(2);
  return {
    a,
    b,
    fa,
    fb,
    close() {
      a.destroy();
      b.destroy();
    },
  };
}

/** A descriptor number that is not open. */
function closedFd(): number {
  const p = makePipe();
  const fd = p.r;
  p.close();
  return fd;
}

// What the child-process tests share: a loop of the kind LOOP_KIND names, FIFO pipes, and
// drive(future, then) that runs a private loop until the future is done (bounded) or awaits it.
const CHILD_PRELUDE = `
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { execFileSync } = require('node:child_process');
const { O_RDONLY, O_WRONLY, O_NONBLOCK } = fs.constants;
const loop = process.env.LOOP_KIND === 'host' ? evloop.hostLoop() : evloop.newEventLoop();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-watchers-child-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
let fifos = 0;
function makePipe() {
  const p = path.join(dir, 'fifo-' + fifos++);
  execFileSync('mkfifo', [p]);
  const r = fs.openSync(p, O_RDONLY | O_NONBLOCK);
  const w = fs.openSync(p, O_WRONLY | O_NONBLOCK);
  return { r, w };
}
function readSome(fd) {
  const buf = Buffer.alloc(65536);
  try { return buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, null)); }
  catch (e) { if (e.code === 'EAGAIN') return null; throw e; }
}
function pollingTurns(f, n) {
  const step = () => { if (--n <= 0) f.setResult(); else loop.callLater(1, step); };
  loop.callLater(1, step);
}
function drive(f, then) {
  if (process.env.LOOP_KIND === 'host') {
    const t = setTimeout(() => { console.error('not done in time'); process.exit(3); }, ${BOUND_MS} - 2000);
    f.then((v) => { clearTimeout(t); then(v); }, (e) => { console.error(e); process.exit(4); });
  } else {
    const guard = loop.callLater(${BOUND_MS} - 2000, () => loop.stop());
    const v = loop.runUntilComplete(f);
    guard.cancel();
    then(v);
  }
}
`;

async function withLoop(kind: LoopKind, body: (loop: EventLoop) => Promise<void>): Promise<void> {
  const loop = kind.make();
  try {
    await body(loop);
  } finally {
    kind.dispose(loop);
  }
}

describe.each(LOOP_KINDS)('$name loop: descriptor watchers', (kind) => {
  it('runs the reader when data arrives on a pipe, with its arguments', async () => {
    await withLoop(kind, async (loop) => {
      const p = makePipe();
      try {
        const got = loop.createFuture<[string, number, string]>();
        loop.addReader(
          p.r,
          (n: number, s: string) => {
            const data = readSome(p.r);
            if (data !== null && !got.done()) got.setResult([data.toString(), n, s]);
          },
          7,
          'x',
        );
        // Written from a later callback: the loop is waiting on the descriptor by then.
        loop.callSoon(() => fs.writeSync(p.w, 'hello'));
        expect(await kind.drive(loop, got)).toEqual(['hello', 7, 'x']);
        expect(loop.removeReader(p.r)).toBe(true);
      } finally {
        p.close();
      }
    });
  });

  it('is level-triggered: the reader runs again on later turns while data stays unread, then stops', async () => {
    await withLoop(kind, async (loop) => {
      const p = makePipe();
      try {
        let calls = 0;
        const drained = loop.createFuture<void>();
        fs.writeSync(p.w, 'x');
        loop.addReader(p.r, () => {
          calls++;
          if (calls === 5) {
            expect(readSome(p.r)!.toString()).toBe('x');
            drained.setResult();
          }
        });
        await kind.drive(loop, drained);
        expect(calls).toBe(5);
        // Nothing left to read: over several polled turns the reader does not run again.
        const quiet = loop.createFuture<void>();
        pollingTurns(loop, 5, quiet);
        await kind.drive(loop, quiet);
        expect(calls).toBe(5);
        expect(loop.removeReader(p.r)).toBe(true);
      } finally {
        p.close();
      }
    });
  });

  it('runs the reader on every turn while ready, also when other callbacks keep the loop busy', async () => {
    await withLoop(kind, async (loop) => {
      const p = makePipe();
      try {
        fs.writeSync(p.w, 'x');
        let reads = 0;
        // Each turn of a callSoon chain is a turn of the loop: asyncio polls on each (timeout 0).
        const done = loop.createFuture<number>();
        let turns = 0;
        const step = () => {
          turns++;
          if (turns === 50) done.setResult(reads);
          else loop.callSoon(step);
        };
        // Start once the reader has been seen, so both count the same turns.
        loop.addReader(p.r, () => {
          reads++;
          if (reads === 1) loop.callSoon(step);
        });
        const readsAt50 = await kind.drive(loop, done);
        loop.removeReader(p.r);
        // The reader ran in the turn before the chain began and in (nearly) each of its turns.
        expect(readsAt50).toBeGreaterThanOrEqual(45);
      } finally {
        p.close();
      }
    });
  });

  it('adding a reader again replaces the callback', async () => {
    await withLoop(kind, async (loop) => {
      const p = makePipe();
      try {
        const seen: string[] = [];
        const got = loop.createFuture<void>();
        loop.addReader(p.r, () => {
          seen.push('first');
          readSome(p.r);
        });
        loop.addReader(p.r, () => {
          seen.push('second');
          readSome(p.r);
          if (!got.done()) got.setResult();
        });
        fs.writeSync(p.w, 'y');
        await kind.drive(loop, got);
        expect(seen).toEqual(['second']);
        expect(loop.removeReader(p.r)).toBe(true);
        expect(loop.removeReader(p.r)).toBe(false);
      } finally {
        p.close();
      }
    });
  });

  it('adding a writer again replaces the callback', async () => {
    await withLoop(kind, async (loop) => {
      const p = makePipe();
      try {
        const seen: string[] = [];
        const got = loop.createFuture<void>();
        loop.addWriter(p.w, () => seen.push('first'));
        loop.addWriter(p.w, () => {
          seen.push('second');
          loop.removeWriter(p.w);
          got.setResult();
        });
        await kind.drive(loop, got);
        expect(seen).toEqual(['second']);
      } finally {
        p.close();
      }
    });
  });

  it('a reader and a writer on one descriptor coexist, and removing one keeps the other', async () => {
    await withLoop(kind, async (loop) => {
      // A FIFO opened read-write: one descriptor that can be both readable and writable.
      const fd = fs.openSync(mkfifo(), O_RDWR | O_NONBLOCK);
      try {
        let reads = 0;
        let writes = 0;
        const both = loop.createFuture<void>();
        const check = () => {
          if (reads > 0 && writes > 0 && !both.done()) both.setResult();
        };
        loop.addReader(fd, () => {
          reads++;
          check();
        });
        loop.addWriter(fd, () => {
          writes++;
          check();
        });
        fs.writeSync(fd, 'z'); // readable (data) and still writable (room)
        await kind.drive(loop, both);

        expect(loop.removeWriter(fd)).toBe(true);
        expect(loop.removeWriter(fd)).toBe(false);
        const readsBefore = reads;
        const writesBefore = writes;
        const more = loop.createFuture<void>();
        loop.addReader(fd, () => {
          reads++;
          if (reads >= readsBefore + 3 && !more.done()) more.setResult();
        });
        await kind.drive(loop, more);
        expect(writes).toBe(writesBefore);
        expect(readSome(fd)!.toString()).toBe('z');
        expect(loop.removeReader(fd)).toBe(true);
        expect(loop.removeReader(fd)).toBe(false);
      } finally {
        fs.closeSync(fd);
      }
    });
  });

  it('remove returns whether a watcher was registered, separately for readers and writers', async () => {
    await withLoop(kind, async (loop) => {
      const p = makePipe();
      try {
        expect(loop.removeReader(p.r)).toBe(false);
        expect(loop.removeWriter(p.w)).toBe(false);
        loop.addReader(p.r, () => {});
        expect(loop.removeWriter(p.r)).toBe(false);
        expect(loop.removeReader(p.r)).toBe(true);
        expect(loop.removeReader(p.r)).toBe(false);
        loop.addWriter(p.w, () => {});
        expect(loop.removeReader(p.w)).toBe(false);
        expect(loop.removeWriter(p.w)).toBe(true);
        expect(loop.removeWriter(p.w)).toBe(false);
      } finally {
        p.close();
      }
    });
  });

  it('a removed reader does not run, even when its event was already collected', async () => {
    await withLoop(kind, async (loop) => {
      const p = makePipe();
      const q = makePipe();
      try {
        // Both ready in the same turn; whichever runs first removes the other, which must not run.
        fs.writeSync(p.w, 'p');
        fs.writeSync(q.w, 'q');
        const ran: string[] = [];
        const done = loop.createFuture<void>();
        const first = (name: string) => () => {
          ran.push(name);
          loop.removeReader(p.r);
          loop.removeReader(q.r);
          loop.callLater(2, () => done.setResult());
        };
        loop.addReader(p.r, first('p'));
        loop.addReader(q.r, first('q'));
        await kind.drive(loop, done);
        expect(ran).toHaveLength(1);
      } finally {
        p.close();
        q.close();
      }
    });
  });

  it('the writer waits while the pipe is full and runs once the reader drained it', async () => {
    await withLoop(kind, async (loop) => {
      const p = makePipe();
      try {
        const filled = fill(p.w);
        expect(filled).toBeGreaterThan(0);
        let drained = 0;
        let writerBeforeDrain = false;
        const wrote = loop.createFuture<void>();
        loop.addWriter(p.w, () => {
          if (drained < filled) writerBeforeDrain = true;
          loop.removeWriter(p.w);
          wrote.setResult();
        });
        loop.addReader(p.r, () => {
          for (;;) {
            const data = readSome(p.r);
            if (data === null || data.length === 0) break;
            drained += data.length;
          }
          if (drained >= filled) loop.removeReader(p.r);
        });
        await kind.drive(loop, wrote);
        expect(writerBeforeDrain).toBe(false);
        expect(drained).toBe(filled);
      } finally {
        p.close();
      }
    });
  });

  it('throws an Error with code EBADF for a descriptor that is not open, and registers nothing', async () => {
    await withLoop(kind, async (loop) => {
      const fd = closedFd();
      for (const add of [loop.addReader, loop.addWriter]) {
        let error: unknown;
        try {
          add.call(loop, fd, () => {});
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(Error);
        expect((error as NodeJS.ErrnoException).code).toBe('EBADF');
      }
      expect(loop.removeReader(fd)).toBe(false);
      expect(loop.removeWriter(fd)).toBe(false);
    });
  });

  it('a failed add leaves the other watchers working', async () => {
    await withLoop(kind, async (loop) => {
      const p = makePipe();
      try {
        const got = loop.createFuture<string>();
        loop.addReader(p.r, () => {
          const data = readSome(p.r);
          if (data !== null && !got.done()) got.setResult(data.toString());
        });
        expect(() => loop.addReader(closedFd(), () => {})).toThrow(expect.objectContaining({ code: 'EBADF' }));
        fs.writeSync(p.w, 'still');
        expect(await kind.drive(loop, got)).toBe('still');
        expect(loop.removeReader(p.r)).toBe(true);
      } finally {
        p.close();
      }
    });
  });

  it('throws the system code for a descriptor that cannot be polled (a regular file: EPERM)', async () => {
    await withLoop(kind, async (loop) => {
      const file = path.join(dir, `regular-${fifoCount++}`);
      fs.writeFileSync(file, 'data');
      const fd = fs.openSync(file, 'r');
      try {
        expect(() => loop.addReader(fd, () => {})).toThrow(expect.objectContaining({ code: 'EPERM' }));
        expect(loop.removeReader(fd)).toBe(false);
      } finally {
        fs.closeSync(fd);
      }
    });
  });

  it('validates its arguments', async () => {
    await withLoop(kind, async (loop) => {
      for (const add of [loop.addReader, loop.addWriter]) {
        expect(() => add.call(loop, '3' as unknown as number, () => {})).toThrow(
          expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
        );
        expect(() => add.call(loop, -1, () => {})).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
        expect(() => add.call(loop, 1.5, () => {})).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
        expect(() => add.call(loop, 0, 'nope' as unknown as () => void)).toThrow(
          expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
        );
      }
      expect(() => loop.removeReader('3' as unknown as number)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      );
    });
  });

  // In a child process: a crash here must fail this test, not take the whole test file down.
  it('a descriptor closed while watched, before the loop polled it, neither crashes nor spins', () => {
    const r = runChild(
      `${CHILD_PRELUDE}
      const p = makePipe();
      let calls = 0;
      loop.addReader(p.r, () => { calls++; });
      loop.addWriter(p.w, () => { calls++; });
      // Closed behind the loop's back, before it polls them.
      fs.closeSync(p.r); fs.closeSync(p.w);
      const quiet = loop.createFuture();
      pollingTurns(quiet, 10);
      drive(quiet, () => {
        const removed = [loop.removeReader(p.r), loop.removeWriter(p.w)];
        // The numbers are reused by a new pipe: watching them works as before.
        const q = makePipe();
        const got = loop.createFuture();
        loop.addReader(q.r, () => {
          const data = readSome(q.r);
          if (data !== null && !got.done()) got.setResult(data.toString());
        });
        fs.writeSync(q.w, 'again');
        drive(got, (text) => {
          loop.removeReader(q.r);
          console.log(JSON.stringify({ calls, removed, text }));
        });
      });`,
      { env: { LOOP_KIND: kind.name } },
    );
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    // At most one report of the bad descriptor each, not one per turn.
    expect(out.calls).toBeLessThanOrEqual(2);
    expect(out.removed).toEqual([true, true]);
    expect(out.text).toBe('again');
  });

  it('a descriptor closed while watched, after the loop polled it, neither crashes nor spins', () => {
    const r = runChild(
      `${CHILD_PRELUDE}
      const p = makePipe();
      let calls = 0;
      const first = loop.createFuture();
      loop.addReader(p.r, () => {
        calls++;
        if (calls === 1) {
          // Closed from inside its own callback, while still registered and ready.
          fs.closeSync(p.r); fs.closeSync(p.w);
          first.setResult();
        }
      });
      fs.writeSync(p.w, 'data');
      drive(first, () => {
        const quiet = loop.createFuture();
        pollingTurns(quiet, 10);
        drive(quiet, () => console.log(JSON.stringify({ calls, removed: loop.removeReader(p.r) })));
      });`,
      { env: { LOOP_KIND: kind.name } },
    );
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out.calls).toBeLessThanOrEqual(2);
    expect(out.removed).toBe(true);
  });

  it('an error thrown by a reader goes to the exception handler and the loop goes on', async () => {
    await withLoop(kind, async (loop) => {
      const p = makePipe();
      const previous = loop.getExceptionHandler();
      try {
        const contexts: unknown[] = [];
        loop.setExceptionHandler((_l, context) => contexts.push(context.exception));
        const done = loop.createFuture<void>();
        let calls = 0;
        loop.addReader(p.r, () => {
          calls++;
          if (calls === 1) throw new Error('reader boom');
          readSome(p.r);
          loop.removeReader(p.r);
          done.setResult();
        });
        fs.writeSync(p.w, 'e');
        await kind.drive(loop, done);
        expect(contexts).toHaveLength(1);
        expect((contexts[0] as Error).message).toBe('reader boom');
      } finally {
        loop.setExceptionHandler(previous);
        p.close();
      }
    });
  });

  it('echoes over a TCP loopback connection using only addReader/addWriter and fs.readSync/fs.writeSync', async () => {
    const pair = await tcpPair();
    const loop = kind.make();
    try {
      // 1 MiB: more than the socket buffers hold, so writes hit EAGAIN and writers must wait.
      const payload = Buffer.alloc(1 << 20);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 9)) & 0xff;
      const echoed: Buffer[] = [];
      let echoedBytes = 0;
      const done = loop.createFuture<void>();

      // Client (fa): sends the payload when writable, collects the echo when readable.
      let sent = 0;
      const clientWrite = () => {
        while (sent < payload.length) {
          const n = writeSome(pair.fa, payload.subarray(sent, Math.min(payload.length, sent + 65536)));
          if (n === 0) return; // full: wait for the next writable turn
          sent += n;
        }
        loop.removeWriter(pair.fa);
      };
      loop.addWriter(pair.fa, clientWrite);
      loop.addReader(pair.fa, () => {
        for (;;) {
          const data = readSome(pair.fa);
          if (data === null) return;
          if (data.length === 0) throw new Error('unexpected EOF on the client');
          echoed.push(data);
          echoedBytes += data.length;
          if (echoedBytes === payload.length) {
            loop.removeReader(pair.fa);
            done.setResult();
            return;
          }
        }
      });

      // Server (fb): reads what came, queues it, writes it back when writable.
      const queue: Buffer[] = [];
      const serverWrite = () => {
        while (queue.length > 0) {
          const head = queue[0];
          const n = writeSome(pair.fb, head);
          if (n === 0) return;
          if (n < head.length) queue[0] = head.subarray(n);
          else queue.shift();
        }
        loop.removeWriter(pair.fb);
      };
      loop.addReader(pair.fb, () => {
        for (;;) {
          const data = readSome(pair.fb);
          if (data === null || data.length === 0) break;
          queue.push(Buffer.from(data));
        }
        if (queue.length > 0) loop.addWriter(pair.fb, serverWrite);
      });

      await kind.drive(loop, done);
      loop.removeReader(pair.fb);
      loop.removeWriter(pair.fb);
      expect(Buffer.concat(echoed).equals(payload)).toBe(true);
    } finally {
      kind.dispose(loop);
      pair.close();
    }
  });
});

describe('private loop: descriptor watchers', () => {
  it('throws ERR_LOOP_CLOSED from addReader/addWriter once closed', () => {
    const loop = evloop.newEventLoop();
    const p = makePipe();
    try {
      loop.close();
      expect(() => loop.addReader(p.r, () => {})).toThrow(expect.objectContaining({ code: 'ERR_LOOP_CLOSED' }));
      expect(() => loop.addWriter(p.w, () => {})).toThrow(expect.objectContaining({ code: 'ERR_LOOP_CLOSED' }));
    } finally {
      p.close();
    }
  });

  it('closing a loop with watchers leaves the descriptors usable', () => {
    const loop = evloop.newEventLoop();
    const p = makePipe();
    try {
      loop.addReader(p.r, () => {});
      loop.addWriter(p.w, () => {});
      loop.close();
      fs.writeSync(p.w, 'ok');
      expect(readSome(p.r)!.toString()).toBe('ok');
    } finally {
      p.close();
    }
  });

  it('a reader counts for the stall check: runUntilComplete waits for the descriptor', () => {
    const loop = evloop.newEventLoop();
    const p = makePipe();
    try {
      const got = loop.createFuture<string>();
      loop.addReader(p.r, () => {
        loop.removeReader(p.r);
        got.setResult(readSome(p.r)!.toString());
      });
      // Written by another process while the loop is blocked in its wait.
      const child = spawn(
        process.execPath,
        ['-e', `require('fs').writeSync(3, 'from child')`],
        { stdio: ['ignore', 'ignore', 'ignore', p.w] },
      );
      const guard = loop.callLater(BOUND_MS, () => loop.stop());
      try {
        expect(loop.runUntilComplete(got)).toBe('from child');
      } finally {
        guard.cancel();
        child.kill('SIGKILL');
      }
    } finally {
      loop.close();
      p.close();
    }
  });

  it('works in a worker thread: a private loop there reads a FIFO written by the main thread', async () => {
    const fifo = mkfifo();
    const w = fs.openSync(fifo, O_RDWR | O_NONBLOCK); // keeps the FIFO open for both sides
    const worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const fs = require('node:fs');
      const evloop = require(workerData.entry);
      const r = fs.openSync(workerData.fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const loop = evloop.newEventLoop();
      const got = loop.createFuture();
      let text = '';
      loop.addReader(r, () => {
        const buf = Buffer.alloc(100);
        let n;
        try { n = fs.readSync(r, buf, 0, 100, null); } catch (e) { if (e.code === 'EAGAIN') return; throw e; }
        text += buf.toString('utf8', 0, n);
        if (text.endsWith('!')) { loop.removeReader(r); got.setResult(text); }
      });
      parentPort.postMessage('ready');
      loop.callLater(${BOUND_MS}, () => loop.stop());
      parentPort.postMessage(loop.runUntilComplete(got));
      loop.close();
      fs.closeSync(r);
      `,
      { eval: true, workerData: { entry, fifo } },
    );
    try {
      const messages: string[] = [];
      const result = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('worker did not answer')), BOUND_MS);
        worker.on('error', reject);
        worker.on('message', (m: string) => {
          messages.push(m);
          if (m === 'ready') fs.writeSync(w, 'to the worker!');
          else {
            clearTimeout(timer);
            resolve(m);
          }
        });
      });
      expect(messages[0]).toBe('ready');
      expect(result).toBe('to the worker!');
    } finally {
      await worker.terminate();
      fs.closeSync(w);
    }
  });
});
