export { DxCommand, exitCodesHelp, policyFlag } from './dx-command.js';
export { beadsFlag, positiveNumber } from './flags.js';
export { formatDuration, renderTable } from './table.js';
