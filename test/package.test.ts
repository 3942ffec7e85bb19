// The package as users see it, in a few fast checks: `import` and `require` give the very same
// objects, the exports map points at files that exist (values and types), the types declare what
// api.md promises and type-check from ESM and CommonJS consumers, and "files" ships what a user
// needs and nothing else. The slow end-to-end check (pack, install with no compiler, every Node
// line, arm64 under qemu) is scripts/pack-test.sh.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

// api.md, "Everything the package exports".
const VALUES = [
  'newEventLoop', 'getEventLoop', 'setEventLoop', 'getRunningLoop', 'hostLoop', 'run', 'post',
  'sleep', 'gather', 'waitFor', 'shield', 'moduleTask', 'tasks', 'EventLoop', 'Handle',
  'TimerHandle', 'Future', 'Task', 'ThreadPoolExecutor', 'EvloopError', 'InvalidStateError',
  'CancelledError', 'TimeoutError',
];
const TYPES = ['Coroutine', 'Awaitable', 'LoopRef', 'SharedExecutor', 'TaskRef', 'Executor', 'ExceptionContext'];

function node(args: string[], cwd = root): string {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 20000 });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

describe('import and require', () => {
  it('give the very same objects, by package name, in an ES module', () => {
    // Run from the package root: 'evloop' resolves to this package through its own exports map.
    const out = node(['--input-type=module', '-e', `
      import * as esm from 'evloop';
      import { createRequire } from 'node:module';
      const cjs = createRequire(process.cwd() + '/')('evloop');
      const esmKeys = Object.keys(esm).filter((k) => k !== 'default').sort();
      const cjsKeys = Object.keys(cjs).filter((k) => k !== '__esModule').sort();
      console.log(JSON.stringify({
        esmKeys, cjsKeys,
        different: cjsKeys.filter((k) => esm[k] !== cjs[k]),
        esmUrl: import.meta.resolve('evloop'),
        cjsPath: createRequire(process.cwd() + '/').resolve('evloop'),
      }));
    `]);
    const r = JSON.parse(out);
    expect(r.esmUrl).toMatch(/\/dist\/esm\/index\.mjs$/);
    expect(r.cjsPath).toBe(path.join(root, 'dist/cjs/index.js'));
    expect(r.different).toEqual([]);
    expect(r.esmKeys).toEqual(r.cjsKeys);
    expect(r.cjsKeys).toEqual(expect.arrayContaining(VALUES));
  });

  it('give the same classes, so instanceof works across the two', () => {
    const out = node(['-e', `
      const cjs = require('evloop');
      import('evloop').then((esm) => {
        const loop = esm.newEventLoop();
        const ok = loop instanceof cjs.EventLoop && loop.createFuture() instanceof cjs.Future &&
          new esm.CancelledError() instanceof cjs.EvloopError;
        loop.close();
        console.log(ok);
      });
    `]);
    expect(out.trim()).toBe('true');
  });
});

describe('the exports map', () => {
  const conditions = pkg.exports['.'];

  it('has import and require, each with types first', () => {
    expect(Object.keys(conditions)).toEqual(['import', 'require']);
    for (const c of ['import', 'require']) expect(Object.keys(conditions[c])).toEqual(['types', 'default']);
    expect(conditions.import.default).toMatch(/\.mjs$/);
    expect(conditions.import.types).toMatch(/\.d\.mts$/);
    expect(conditions.require.default).toMatch(/\.js$/);
    expect(conditions.require.types).toMatch(/\.d\.ts$/);
    expect(pkg.exports['./package.json']).toBe('./package.json');
  });

  it('points at files that exist, as do main, module and types', () => {
    const targets = [
      conditions.import.types, conditions.import.default, conditions.require.types, conditions.require.default,
      pkg.main, pkg.module, pkg.types,
    ];
    for (const t of targets) expect(fs.existsSync(path.join(root, t)), t).toBe(true);
    expect(pkg.main).toBe(conditions.require.default);
    expect(pkg.types).toBe(conditions.require.types);
  });

  it('exposes nothing else (deep imports are not part of the API)', () => {
    const r = spawnSync(process.execPath, ['-e', `require('evloop/dist/cjs/native.js')`], { cwd: root, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});

describe('the types', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  // One TypeScript program (it is the slow part): a consumer in an ES module and one in CommonJS,
  // with evloop as their dependency, under module node16 (what attw calls "node16").
  let program: import('typescript').Program;
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-types-'));
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'evloop'), 'dir');
    fs.symlinkSync(path.join(root, 'node_modules', '@types'), path.join(dir, 'node_modules', '@types'), 'dir');
    fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "consumer", "private": true }');
    const names = 'newEventLoop, sleep, ThreadPoolExecutor, tasks, CancelledError, run, post, gather, waitFor, shield, moduleTask, hostLoop';
    const typeNames = 'EventLoop, Future, Task, Coroutine, LoopRef, EvloopError, Awaitable';
    const body = `
      const loop: EventLoop = newEventLoop();
      const f: Future<number> = loop.createFuture<number>();
      const t: Task<string> = loop.createTask(function* (): Coroutine<string> { yield sleep(1); return 'x'; });
      const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
      const d: Future<Buffer> = pool.submit(tasks.digest, 'sha256', 'abc');
      const ref: LoopRef = loop.share();
      const err: EvloopError = new CancelledError();
      const a: Awaitable<number> = f;
      void [t, d, ref, err, a, run, post, gather, waitFor, shield, moduleTask, hostLoop];
    `;
    for (const file of ['esm.mts', 'cjs.cts']) {
      fs.writeFileSync(path.join(dir, file), `import { ${names} } from 'evloop';\nimport type { ${typeNames} } from 'evloop';\n${body}`);
    }
    program = ts.createProgram([path.join(dir, 'esm.mts'), path.join(dir, 'cjs.cts')], {
      module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'], types: ['node'], strict: true, noEmit: true,
    });
  }, 60000);
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function exportsOf(file: string): string[] {
    const checker = program.getTypeChecker();
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`${file} is not what the consumer resolved 'evloop' to`);
    return checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).map((s) => s.name).sort();
  }

  it('resolve for import and require, declaring every value and type api.md names, the same', () => {
    const cjs = exportsOf(path.join(root, pkg.exports['.'].require.types));
    const esm = exportsOf(path.join(root, pkg.exports['.'].import.types));
    expect(esm).toEqual(cjs);
    expect(cjs).toEqual(expect.arrayContaining([...VALUES, ...TYPES]));
  });

  it('type-check a consumer in an ES module and in CommonJS (module node16)', () => {
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => !d.file || !d.file.fileName.includes('/node_modules/@types/'));
    const text = ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => dir, getNewLine: () => '\n' });
    expect(text).toBe('');
  });
});

describe('"files"', () => {
  it('ships the build, the prebuilds and the sources of the fallback build, and nothing else', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 30000 });
    const paths: string[] = JSON.parse(out)[0].files.map((f: { path: string }) => f.path);
    const gyp = eval(`(${fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8')})`);
    const sources: string[] = gyp.targets.find((t: { target_name: string }) => t.target_name === 'evloop').sources;
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md', 'binding.gyp', ...sources,
      'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.mjs', 'dist/esm/index.d.mts', 'dist/cjs/pool-thread/runner.js']));
    // Headers next to the sources come along (the sources include them).
    expect(paths).toEqual(expect.arrayContaining(['native/core/loop.h', 'native/binding/addon.h']));
    const stray = paths.filter((p) => /^(test|bench|scripts|examples|lib|docs|build[^/]*|\.ci|\.github|node_modules)\//.test(p) ||
      p.startsWith('native/test/') || p.endsWith('.map') || p.endsWith('.gitkeep'));
    expect(stray).toEqual([]);
    for (const p of paths.filter((p) => p.startsWith('prebuilds/'))) expect(p).toMatch(/^prebuilds\/[a-z0-9]+-[a-z0-9]+\/evloop(\.[a-z]+)*\.node$/);
  });

  it('declares the Node versions it supports, and an install that falls back to a source build', () => {
    // The floor is a version that scripts/node-versions.sh (the pack test) runs the package on.
    const floor = /^>=\s*(\d+\.\d+\.\d+)$/.exec(pkg.engines.node)?.[1];
    expect(floor, `engines.node is ${pkg.engines.node}`).toBeDefined();
    const tested = /NODE_VERSIONS:-([\d. ]+)\}/.exec(fs.readFileSync(path.join(root, 'scripts/node-versions.sh'), 'utf8'))?.[1].split(' ');
    expect(tested).toContain(floor);
    expect(pkg.scripts.install).toBe('node-gyp-build');
    expect(pkg.dependencies).toHaveProperty('node-gyp-build');
    expect(pkg.dependencies).toHaveProperty('node-addon-api');
    expect(pkg.gypfile).toBe(true);
  });
});
