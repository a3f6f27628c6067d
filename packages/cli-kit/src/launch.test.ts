import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Config } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import { fastVersionLine } from './launch.js';

const packagesDir = path.resolve(import.meta.dirname, '..', '..');

describe('fastVersionLine', () => {
  it.each(['cli', 'dx-batch', 'nightly-dispatch'])('answers --version for %s exactly as oclif would', async (pkg) => {
    const binUrl = pathToFileURL(path.join(packagesDir, pkg, 'bin', 'run.js')).href;
    const config = await Config.load(path.join(packagesDir, pkg));
    expect(fastVersionLine(binUrl, ['--version'])).toBe(config.userAgent);
  });

  it('leaves everything but a bare --version to oclif', () => {
    const binUrl = pathToFileURL(path.join(packagesDir, 'cli', 'bin', 'run.js')).href;
    for (const args of [[], ['--version', '--json'], ['version'], ['-v'], ['status', '--version']]) {
      expect(fastVersionLine(binUrl, args)).toBeUndefined();
    }
  });
});
