// Exists so Nx infers a build target for the CLI package (toolchain.md G7).
export { run } from '@oclif/core';
