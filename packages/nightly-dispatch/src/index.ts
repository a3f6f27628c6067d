export * from './schemas.js';
export * from './config/config.js';
export * from './config/policy.js';
export * from './alerts/slack.js';
export * from './night/prompt.js';
export * from './night/dispatch.js';
export * from './night/run-night.js';
export * from './reports/morning.js';
