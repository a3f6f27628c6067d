export * from './schemas.js';
export { startDashboard, type DashboardOptions, type RunningDashboard } from './server/server.js';
export { resolveBind, newToken, isLoopback, SECURITY_HEADERS } from './server/security.js';
export { JobIndex, beadsOfStateFile, compareRows } from './data/jobs.js';
export { ProviderStats } from './data/providers.js';
