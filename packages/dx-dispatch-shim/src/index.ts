export * from './forward/argv.js';
export * from './forward/forward.js';
export * from './dispatch/vm.js';
export { runDxDispatch } from './dispatch/main.js';
export { runCcGlmJob } from './cc-glm-job/main.js';
