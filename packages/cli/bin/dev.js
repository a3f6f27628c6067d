#!/usr/bin/env -S node --conditions=development
import { execute } from '@oclif/core';

await execute({ development: true, dir: import.meta.url });
