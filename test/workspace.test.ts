import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/paths.js';

describe('workspace hygiene', () => {
  it('nx sync leaves nothing to change (project references match package dependencies)', () => {
    // nx keeps its native cache and sockets in /tmp/.nx unless told otherwise: a test leaves no such thing
    const nxTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-nx-'));
    try {
      const r = spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'nx'), ['sync:check'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: {
          ...process.env,
          NX_NO_CLOUD: 'true',
          NX_DAEMON: 'false',
          CI: 'true',
          NX_NATIVE_FILE_CACHE_DIRECTORY: path.join(nxTmp, 'native-cache'),
          NX_SOCKET_DIR: path.join(nxTmp, 'sockets'),
        },
        timeout: 120_000,
      });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    } finally {
      fs.rmSync(nxTmp, { recursive: true, force: true });
    }
  }, 130_000);
});

describe('dependencies point down', () => {
  /** Each package's place: a package may depend only on packages of a lower layer. */
  const LAYER: Record<string, number> = {
    '@dx/core': 0,
    '@dx/cli-kit': 1,
    '@dx/provider-opencode': 1,
    '@dx/provider-cc-glm': 1,
    '@dx/provider-gemini': 1,
    '@dx/cli': 2,
    '@dx/dx-batch': 3,
    '@dx/dx-dispatch-shim': 3,
    '@dx/nightly-dispatch': 3,
    // reads what dx-batch and nightly-dispatch write; dx-runner bundles it as a plugin (see below)
    '@dx/dashboard': 4,
  };

  /**
   * A plugin the CLI bundles is composed at run time by oclif, which finds it only among the CLI's
   * `dependencies`: that entry is not a code dependency. Allowed only while the CLI's code never
   * imports the plugin (and nx is told the edge is not one: `nx.implicitDependencies` "!name").
   */
  function bundledPluginsOnly(pkg: { oclif?: { plugins?: string[] } }, dir: string, fs: typeof import('node:fs')) {
    const plugins = new Set(pkg.oclif?.plugins ?? []);
    const imported = (name: string) => {
      const walk = (d: string): boolean =>
        fs.readdirSync(d, { withFileTypes: true }).some((e) => {
          const p = path.join(d, e.name);
          return e.isDirectory() ? walk(p) : /\.ts$/.test(e.name) && fs.readFileSync(p, 'utf8').includes(`'${name}`);
        });
      return walk(path.join(REPO_ROOT, 'packages', dir, 'src'));
    };
    return (dep: string) => plugins.has(dep) && !imported(dep);
  }

  it('no workspace package depends on one of its own layer or above it', async () => {
    const fs = await import('node:fs');
    for (const dir of fs.readdirSync(path.join(REPO_ROOT, 'packages'))) {
      const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'packages', dir, 'package.json'), 'utf8')) as {
        name: string;
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
        oclif?: { plugins?: string[] };
      };
      const own = LAYER[pkg.name];
      if (own === undefined) continue;
      const onlyBundled = bundledPluginsOnly(pkg, dir, fs);
      for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
        if (LAYER[dep] === undefined || (LAYER[dep] > own && onlyBundled(dep))) continue;
        expect(LAYER[dep], `${pkg.name} depends on ${dep}`).toBeLessThan(own);
      }
    }
  });

  it('core never names the CLI, a sibling or a provider in its code', async () => {
    const fs = await import('node:fs');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.ts$/.test(e.name) && !/\.test\.ts$/.test(e.name)) {
          const text = fs.readFileSync(p, 'utf8');
          if (/['"]@dx\/(cli|cli-kit|dx-batch|dx-dispatch-shim|nightly-dispatch|provider-[a-z-]+)['"/]/.test(text))
            offenders.push(path.relative(REPO_ROOT, p));
        }
      }
    };
    walk(path.join(REPO_ROOT, 'packages', 'core', 'src'));
    expect(offenders).toEqual([]);
  });
});

describe('one meaning per exit code', () => {
  it('every bin maps oclif usage errors to the usage exit code (1), never to 2, which check uses for a stalled job', async () => {
    const { OCLIF_USAGE_EXIT_CODES, USAGE_EXIT_CODE } = await import('@dx/cli-kit');
    expect(USAGE_EXIT_CODE).toBe(1);
    for (const bin of ['cli', 'dx-batch', 'nightly-dispatch']) {
      const pjson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'packages', bin, 'package.json'), 'utf8')) as {
        oclif: { exitCodes: unknown };
      };
      expect(pjson.oclif.exitCodes, bin).toEqual(OCLIF_USAGE_EXIT_CODES);
    }
  });
});
