#!/usr/bin/env node
/**
 * Writes schemas/<tool>/<command>.json from the zod schemas of every tool's --json outputs (run
 * `npm run schemas` after changing an output). test/schemas.test.ts fails when the committed files drift.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { OUTPUT_SCHEMAS, toJsonSchema } = await import(path.join(root, 'packages/core/dist/index.js'));
const { DX_BATCH_OUTPUT_SCHEMAS } = await import(path.join(root, 'packages/dx-batch/dist/index.js'));
const { NIGHTLY_OUTPUT_SCHEMAS } = await import(path.join(root, 'packages/nightly-dispatch/dist/index.js'));
const { SIM_OUTPUT_SCHEMAS } = await import(path.join(root, 'packages/provider-sim/dist/schemas.js'));
const { DASHBOARD_OUTPUT_SCHEMAS } = await import(path.join(root, 'packages/dashboard/dist/schemas.js'));
const tools = {
  // the simulator's and the dashboard's commands are dx-runner commands (their plugins add them);
  // dashboard-api-* are the bodies of the dashboard's HTTP API
  'dx-runner': { ...OUTPUT_SCHEMAS, ...SIM_OUTPUT_SCHEMAS, ...DASHBOARD_OUTPUT_SCHEMAS },
  'dx-batch': DX_BATCH_OUTPUT_SCHEMAS,
  'nightly-dispatch': NIGHTLY_OUTPUT_SCHEMAS,
};
for (const [tool, schemas] of Object.entries(tools)) {
  const dir = path.join(root, 'schemas', tool);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, schema] of Object.entries(schemas)) {
    const doc = {
      $id: `https://dx-runner.dev/schemas/${tool}/${name}.json`,
      title: `${tool} ${name} --json`,
      ...toJsonSchema(schema),
    };
    fs.writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(doc, null, 2)}\n`);
  }
  console.log(`wrote ${Object.keys(schemas).length} schemas to ${path.relative(root, dir)}`);
}
