/**
 * The one zod every package uses. @dx/core ships as a bundle that carries its own zod; packages that
 * build schemas import `z` from here so one call never loads a second copy (and schemas from both
 * sides compose).
 */
export { z } from 'zod';
