export { flowText, withFlowingDescriptions } from './descriptions.js';
export { DxCommand, exitCodesHelp, policyFlag } from './dx-command.js';
export { OCLIF_USAGE_EXIT_CODES, USAGE_EXIT_CODE, usageMessage, usageReason } from './usage.js';
export { beadsArg, beadsFlag, beadsListFlag, hostFlag, jobBeads, positiveNumber } from './flags.js';
export { formatDuration, renderTable } from './table.js';
