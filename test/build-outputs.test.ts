import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/paths.js';

/**
 * What the build ships beside core's bundle (scripts/bundle-core.mjs), read by the built bundle
 * itself: shipped YAML parsed ahead of time, found by the hash of its text, and the vendored
 * single-file yaml and pino.
 */
const bundleDir = path.join(REPO_ROOT, 'packages/core/dist/bundle');
const shipped = ['packages/core/policy', 'packages/core/profiles', 'packages/provider-sim/scenarios'].flatMap((dir) =>
  fs
    .readdirSync(path.join(REPO_ROOT, dir))
    .filter((n) => n.endsWith('.yaml'))
    .map((n) => path.join(REPO_ROOT, dir, n)),
);
// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-build-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Core = typeof import('@dx/core');
const bundled = (): Promise<Core> => import(pathToFileURL(path.join(bundleDir, 'index.js')).href) as Promise<Core>;

describe('shipped YAML parsed at build time', () => {
  it.each(shipped.map((f) => [path.relative(REPO_ROOT, f), f]))('%s has a twin holding its parsed data', (_n, file) => {
    const text = fs.readFileSync(file, 'utf8');
    const hash = createHash('sha256').update(text).digest('hex');
    const twin = JSON.parse(fs.readFileSync(path.join(bundleDir, 'prebuilt', `${hash}.json`), 'utf8')) as unknown;
    expect(twin).toEqual(parseDocument(text, { uniqueKeys: true }).toJS());
  });

  it('an edited copy of the default policy is read as YAML: its own values, its own errors with lines', async () => {
    const core = await bundled();
    const text = fs.readFileSync(path.join(REPO_ROOT, 'packages/core/policy/default.yaml'), 'utf8');
    const shippedPolicy = core.loadPolicy({ env: { HOME: tmp } });
    expect(core.loadPolicy({ env: { HOME: tmp, DX_POLICY_FILE: write('same.yaml', text) } })).toEqual({
      ...shippedPolicy,
      sources: [...shippedPolicy.sources, path.join(tmp, 'same.yaml')],
    });
    const edited = write('edited.yaml', text.replace(/max_log_mb: \d+/, 'max_log_mb: 7'));
    expect(core.loadPolicy({ env: { HOME: tmp, DX_POLICY_FILE: edited } }).limits.maxLogMb).toBe(7);
    const broken = write('broken.yaml', text.replace(/max_log_mb: \d+/, 'max_log_mb: lots'));
    expect(() => core.loadPolicy({ env: { HOME: tmp, DX_POLICY_FILE: broken } })).toThrow(
      new RegExp(`invalid policy ${broken}:\\d+:\\d+: limits\\.max_log_mb`),
    );
  });
});

describe('vendored CommonJS dependencies', () => {
  it.each(['yaml', 'pino'])('%s ships as one file beside the bundle', (name) => {
    expect(fs.statSync(path.join(bundleDir, 'vendor', `${name}.cjs`)).isFile()).toBe(true);
  });
});

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

interface BundleBins {
  renameDynamicImports: (code: string) => { code: string; renamed: number };
  runInPlainNode: (source: string) => { status: number | null; stdout: string; stderr: string };
}
const bundleBins = (): Promise<BundleBins> =>
  import(pathToFileURL(path.join(REPO_ROOT, 'scripts/bundle-bins.mjs')).href) as Promise<BundleBins>;

describe("dx-runner's bundle and its code cache (scripts/bundle-bins.mjs)", () => {
  const cliBundle = path.join(REPO_ROOT, 'packages/cli/dist/bundle/run.cjs');

  it('a plain `node` takes the shipped cache, and the bundle loads its commands from it', async () => {
    const loader = pathToFileURL(path.join(REPO_ROOT, 'packages/cli-kit/dist/cached-bundle.js')).href;
    const r = (await bundleBins()).runInPlainNode(
      `import { loadBundle } from ${JSON.stringify(loader)};
       const b = loadBundle(${JSON.stringify(cliBundle)});
       console.log(JSON.stringify({ fromCodeCache: b.fromCodeCache, commands: Object.keys(b.exports.COMMANDS).length }));`,
    );
    expect(r.status, r.stderr).toBe(0);
    const loaded = JSON.parse(r.stdout) as { fromCodeCache: boolean; commands: number };
    expect(loaded.fromCodeCache).toBe(true);
    expect(loaded.commands).toBeGreaterThan(20);
  });

  it("every dynamic import in it goes through the loader's __dxImport (a vm script cannot import() on Node 20)", async () => {
    const { renameDynamicImports } = await bundleBins();
    expect(renameDynamicImports(fs.readFileSync(cliBundle, 'utf8')).renamed).toBe(0);
    const sample = 'let m=await import("@dx/core"),n=x.import(y),t=`${e?"import()":"require"} failed`;';
    expect(renameDynamicImports(sample)).toEqual({
      code: 'let m=await __dxImport("@dx/core"),n=x.import(y),t=`${e?"import()":"require"} failed`;',
      renamed: 1,
    });
  });
});
