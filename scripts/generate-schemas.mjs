#!/usr/bin/env node
/**
 * Writes schemas/dx-runner/<command>.json from the zod schemas in @dx/core (run `npm run schemas`
 * after changing an output). test/schemas.test.ts fails when the committed files drift.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { OUTPUT_SCHEMAS, jsonSchemaFor } = await import(path.join(root, 'packages/core/dist/index.js'));
const dir = path.join(root, 'schemas', 'dx-runner');
fs.mkdirSync(dir, { recursive: true });
for (const name of Object.keys(OUTPUT_SCHEMAS)) {
  const schema = { $id: `https://dx-runner.dev/schemas/dx-runner/${name}.json`, title: `dx-runner ${name} --json`, ...jsonSchemaFor(name) };
  fs.writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(schema, null, 2)}\n`);
}
console.log(`wrote ${Object.keys(OUTPUT_SCHEMAS).length} schemas to ${path.relative(root, dir)}`);
