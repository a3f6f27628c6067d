import { describe, expect, it } from 'vitest';
import { isToolArtifact } from './artifacts.js';

describe('isToolArtifact', () => {
  it('knows byte-code, caches, coverage data and installed dependencies', () => {
    for (const file of [
      'tests/__pycache__/test_app.cpython-311.pyc',
      'app.pyc',
      '.pytest_cache/v/cache/lastfailed',
      'pkg/.mypy_cache/3.11/app.json',
      '.coverage',
      '.coverage.host.1234.XYZ',
      'htmlcov/index.html',
      'node_modules/left-pad/index.js',
      'packages/a/tsconfig.tsbuildinfo',
      '.eslintcache',
    ])
      expect(isToolArtifact(file), file).toBe(true);
  });

  it('leaves source, tests and documents alone, whatever words their names share', () => {
    for (const file of [
      'src/app.py',
      'tests/test_coverage.py',
      'src/coverage/index.ts',
      'docs/pycache.md',
      'build/webpack.config.js',
      'node_modules.md',
      'src/.coveragerc',
    ])
      expect(isToolArtifact(file), file).toBe(false);
  });
});
