#!/usr/bin/env node
import { launch } from '@dx/cli-kit/launch';

await launch(import.meta.url);
