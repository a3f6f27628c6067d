/**
 * The version of the --json contract (the output schemas): raised when a field is removed or
 * changes meaning; adding a field keeps it. Every --json document carries it, and the hosts of a
 * fleet with the same number read each other's JSON. Its own module so the CLI's JSON writer can
 * stamp it without loading the schemas.
 */
export const JSON_CONTRACT_VERSION = 1;
