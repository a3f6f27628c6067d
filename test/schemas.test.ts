import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSchemaFor, OUTPUT_SCHEMAS } from '@dx/core';
import { REPO_ROOT } from './helpers/paths.js';

const dir = path.join(REPO_ROOT, 'schemas', 'dx-runner');

describe('committed JSON Schema files', () => {
  it.each(Object.keys(OUTPUT_SCHEMAS))('%s.json matches its zod schema (run `npm run schemas` after changing an output)', (name) => {
    const committed = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
    const { $id: _id, title: _title, ...rest } = committed;
    expect(rest).toEqual(jsonSchemaFor(name as keyof typeof OUTPUT_SCHEMAS));
  });

  it('has no schema file for a command that no longer exists', () => {
    expect(fs.readdirSync(dir).sort()).toEqual(Object.keys(OUTPUT_SCHEMAS).map((n) => `${n}.json`).sort());
  });
});
