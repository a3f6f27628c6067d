/**
 * Files tools leave behind as a side effect of running, never as the work itself: the byte-code
 * Python writes when the agent runs the tests, a test runner's or linter's cache, coverage data,
 * installed dependencies. In a repository that does not ignore them, a job whose agent only ran
 * the tests read as `exited_ok` (it "changed" `tests/__pycache__/…`), and the scope gate failed
 * those files as outside the allowlist. Only new untracked files are judged so: a tracked file is
 * the repository's, whatever its name.
 */
const ARTIFACT_DIRECTORIES = new Set([
  '__pycache__',
  '.pytest_cache',
  '.mypy_cache',
  '.ruff_cache',
  '.hypothesis',
  '.tox',
  '.nox',
  'htmlcov',
  'node_modules',
  '.nyc_output',
  '.turbo',
  '.parcel-cache',
]);
const ARTIFACT_FILE = /(\.py[co]|\.tsbuildinfo)$|^(\.coverage(\..+)?|\.eslintcache|\.DS_Store)$/;

/** Whether a path (as git names it: `/`-separated, from the work tree's top) is a tool's leftover. */
export function isToolArtifact(file: string): boolean {
  const parts = file.split('/');
  const name = parts.pop() ?? '';
  return ARTIFACT_FILE.test(name) || parts.some((dir) => ARTIFACT_DIRECTORIES.has(dir));
}
