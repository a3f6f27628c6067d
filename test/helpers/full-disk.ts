import fs from 'node:fs';

/** dx-runner's own `--json` answer to a start when its state root has no room left for the job's records. */
const DISK_FULL_REFUSAL = JSON.stringify({
  error: {
    message: 'no space left on the file system of the dx-runner state root: ENOSPC: no space left on device',
    exit_code: 1,
    reason_code: 'disk_full',
    next_action: 'free_disk_space_or_prune_old_jobs_then_start_again',
    next_action_text: 'Free disk space or run `dx-runner prune --retention`, then start again.',
  },
  json_contract_version: 1,
});

/**
 * Writes `file`: a dx-runner that answers every `start` as one on a full state root does, and runs
 * everything else with `real` (argv words, each quoted). Returns `file`.
 */
export function writeFullDiskDxRunner(file: string, real: string[]): string {
  const exec = real.map((w) => `'${w}'`).join(' ');
  fs.writeFileSync(
    file,
    `#!/bin/sh\nif [ "$1" = start ]; then printf '%s\\n' '${DISK_FULL_REFUSAL}'; exit 1; fi\nexec ${exec} "$@"\n`,
    { mode: 0o755 },
  );
  return file;
}
