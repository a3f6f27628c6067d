import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { OUTPUT_SCHEMAS, toJsonSchema } from '@dx/core';
import { DX_BATCH_OUTPUT_SCHEMAS } from '@dx/dx-batch';
import { NIGHTLY_OUTPUT_SCHEMAS } from '@dx/nightly-dispatch';
import { SIM_OUTPUT_SCHEMAS } from '@dx/provider-sim/schemas';
import { DASHBOARD_OUTPUT_SCHEMAS } from '@dx/dashboard';
import { REPO_ROOT } from './helpers/paths.js';

const TOOLS: Record<string, Record<string, z.ZodType>> = {
  'dx-runner': { ...OUTPUT_SCHEMAS, ...SIM_OUTPUT_SCHEMAS, ...DASHBOARD_OUTPUT_SCHEMAS },
  'dx-batch': DX_BATCH_OUTPUT_SCHEMAS,
  'nightly-dispatch': NIGHTLY_OUTPUT_SCHEMAS,
};

describe.each(Object.entries(TOOLS))('committed JSON Schema files of %s', (tool, schemas) => {
  const dir = path.join(REPO_ROOT, 'schemas', tool);

  it.each(Object.keys(schemas))(
    '%s.json matches its zod schema (run `npm run schemas` after changing an output)',
    (name) => {
      const committed = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
      const { $id: _id, title: _title, ...rest } = committed;
      expect(rest).toEqual(toJsonSchema(schemas[name]));
    },
  );

  it('has no schema file for a command that no longer exists', () => {
    expect(fs.readdirSync(dir).sort()).toEqual(
      Object.keys(schemas)
        .map((n) => `${n}.json`)
        .sort(),
    );
  });
});
