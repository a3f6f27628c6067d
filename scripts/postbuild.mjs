#!/usr/bin/env node
/**
 * What follows `tsc -b` (in `npm ci`'s prepare and in `npm test`): bundle @dx/core and the bins, then write the
 * oclif manifests. Run it after any `npx tsc -b` by hand, or the CLIs keep running the previous bundle.
 */
import { bundleBins } from './bundle-bins.mjs';
import { bundleCore } from './bundle-core.mjs';
import { writeManifests } from './oclif-manifests.mjs';

await bundleCore();
await bundleBins();
await writeManifests();
