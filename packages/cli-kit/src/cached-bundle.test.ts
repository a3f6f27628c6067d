import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeCachePath, loadBundle, writeCodeCache } from './cached-bundle.js';

// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let tmp: string;
beforeAll(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-cached-bundle-')));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let seq = 0;
function bundle(source: string): string {
  const file = path.join(tmp, `b${++seq}`, 'run.cjs');
  fs.mkdirSync(path.dirname(file));
  fs.writeFileSync(file, source);
  return file;
}

interface Answering {
  answer(): string;
}

describe('loadBundle', () => {
  it('runs a bundle from its code cache, and a later require() of the file gets the same module', () => {
    const file = bundle('let calls = 0; exports.answer = () => `forty-two #${++calls}`;');
    writeCodeCache(file);
    const loaded = loadBundle(file);
    expect(loaded.fromCodeCache).toBe(true);
    expect((loaded.exports as Answering).answer()).toBe('forty-two #1');
    // oclif requires the bundle again to find its commands: it must not evaluate a second copy
    expect((createRequire(file)(file) as Answering).answer()).toBe('forty-two #2');
  });

  it('a cache made from another text of the same length is not used: the bundle as it is now runs', () => {
    const file = bundle('exports.answer = () => "old answer";');
    writeCodeCache(file);
    const cache = fs.readFileSync(codeCachePath(file));
    const rebuilt = bundle('exports.answer = () => "new answer";');
    // V8 alone checks only the length of the text, and would run the old code
    fs.writeFileSync(codeCachePath(rebuilt), cache);
    const loaded = loadBundle(rebuilt);
    expect((loaded.exports as Answering).answer()).toBe('new answer');
    expect(loaded.fromCodeCache).toBe(false);
  });

  it('a missing, truncated or garbled cache only costs the compile', () => {
    const file = bundle('exports.answer = () => "still here";');
    expect(loadBundle(file)).toMatchObject({ fromCodeCache: false });
    writeCodeCache(file);
    const good = fs.readFileSync(codeCachePath(file));
    for (const bad of [
      good.subarray(0, 3),
      good.subarray(0, 40),
      // the text's copy intact, V8's data garbled
      Buffer.from(good).fill(7, good.length - 64),
    ]) {
      fs.writeFileSync(codeCachePath(file), bad);
      expect((loadBundle(file).exports as Answering).answer()).toBe('still here');
    }
  });

  it("hands the bundle a working import() whether or not it came from the cache (oclif's plugins, core)", async () => {
    const target = path.join(tmp, 'target.mjs');
    fs.writeFileSync(target, 'export const name = "imported";');
    const file = bundle(`exports.load = (url) => __dxImport(url);`);
    const url = pathToFileURL(target).href;
    const cold = loadBundle(file).exports as { load(u: string): Promise<{ name: string }> };
    expect((await cold.load(url)).name).toBe('imported');
    writeCodeCache(file);
    const warmFile = bundle(`exports.load = (url) => __dxImport(url);`);
    fs.copyFileSync(codeCachePath(file), codeCachePath(warmFile));
    const warm = loadBundle(warmFile);
    expect(warm.fromCodeCache).toBe(true);
    expect((await (warm.exports as typeof cold).load(url)).name).toBe('imported');
  });

  it('with --enable-source-maps, Node runs it: a stack trace names the TypeScript line', () => {
    const built = transformSync(
      ['var __dxImport;', 'export function fail(): never {', '  throw new Error("boom");', '}'].join('\n'),
      { loader: 'ts', format: 'cjs', sourcemap: 'inline', sourcefile: 'origin.ts' },
    );
    const file = bundle(built.code);
    writeCodeCache(file);
    const loader = pathToFileURL(path.join(import.meta.dirname, '..', 'dist', 'cached-bundle.js')).href;
    const script = `import { loadBundle } from ${JSON.stringify(loader)};
      const r = loadBundle(${JSON.stringify(file)});
      try { r.exports.fail(); } catch (e) { console.log(JSON.stringify({ fromCodeCache: r.fromCodeCache, stack: e.stack })); }`;
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const run = (flags: string[]) => {
      const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { env, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { fromCodeCache: boolean; stack: string };
    };
    const mapped = run(['--enable-source-maps']);
    expect(mapped.fromCodeCache).toBe(false);
    expect(mapped.stack).toMatch(/origin\.ts:3/);
    expect(run([]).fromCodeCache).toBe(true);
  });
});
