import { fileURLToPath } from 'node:url';

/**
 * Where this package's dx-runner is: the siblings (dx-batch, dx-dispatch, nightly-dispatch) ship
 * with it and run it when no dx-runner is configured or on PATH. Loads nothing else.
 */
// resolved through the package's own name: this module also runs from inside the bin's bundle (dist/bundle/)
export const DX_RUNNER_BIN = fileURLToPath(new URL('./bin/run.js', import.meta.resolve('@dx/cli/package.json')));

/** argv prefix that runs this package's dx-runner with the current Node. */
export function bundledDxRunner(): string[] {
  return [process.execPath, DX_RUNNER_BIN];
}
