import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without type declarations
import { DOC, renderCommandsDoc } from '../scripts/commands-doc.mjs';

describe('docs/commands.md', () => {
  it('matches the commands (run `npm run docs` after changing a command, flag, example or exit code)', async () => {
    const rendered = (await renderCommandsDoc()) as string;
    expect(fs.readFileSync(DOC as string, 'utf8')).toBe(rendered);
    // every command of every bin is in it
    for (const heading of [
      '### `dx-runner start`',
      '### `dx-runner wait`',
      '### `dx-batch start`',
      '### `nightly-dispatch run`',
      '## dx-dispatch',
      '## cc-glm-job.sh',
    ]) {
      expect(rendered).toContain(heading);
    }
  }, 60_000);
});
