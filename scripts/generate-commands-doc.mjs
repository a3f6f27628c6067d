#!/usr/bin/env node
/** `npm run docs`: (re)writes docs/commands.md from the commands. */
import fs from 'node:fs';
import path from 'node:path';
import { DOC, renderCommandsDoc } from './commands-doc.mjs';

fs.mkdirSync(path.dirname(DOC), { recursive: true });
fs.writeFileSync(DOC, await renderCommandsDoc());
console.log(`wrote ${path.relative(process.cwd(), DOC)}`);
