// what a command writes to a terminal or a pipe (the `@dx/core/output` entry: light, loaded before core)
export * from './visible.js';
export * from './closed-pipes.js';
