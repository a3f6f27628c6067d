import { z } from 'zod';

/**
 * The one zod every package uses. @dx/core ships as a bundle that carries its own zod; packages that
 * build schemas import `z` from here so one call never loads a second copy (and schemas from both
 * sides compose). Core's own schema modules import it from here too, so the setting below is made
 * before any schema exists.
 *
 * jitless: zod compiles a parser per object schema (`new Function`) on its first parse. A dx-runner
 * call parses a handful of records once and exits, so the compile never pays for itself: it cost
 * `check` ~15 ms of its ~300.
 */
z.config({ jitless: true });

export { z };
