/** How a legacy flag reads: with a value (`--repo R` / `--repo=R`), an optional value, or none. */
export type FlagArity = 'value' | 'optional' | 'none';

export interface ParsedArgv {
  positionals: string[];
  flags: Map<string, string | true>;
  /** Flags not in the table: callers refuse them with a usage error rather than guess. */
  unknown: string[];
  /** Value flags given without a value. */
  missingValue: string[];
}

/**
 * A small parser for the legacy surfaces, table-driven so a boolean flag can never swallow the next
 * word (the old shim's trap) and a value flag at the end is an error, not an abort.
 */
export function parseLegacyArgv(
  argv: string[],
  table: Record<string, FlagArity>,
  aliases: Record<string, string> = {},
): ParsedArgv {
  const out: ParsedArgv = { positionals: [], flags: new Map(), unknown: [], missingValue: [] };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      out.positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const raw = eq > 0 ? token.slice(0, eq) : token;
    const name = aliases[raw] ?? raw;
    const arity = table[name];
    if (!arity) {
      out.unknown.push(raw);
      continue;
    }
    if (eq > 0) {
      if (arity === 'none') out.unknown.push(token);
      else out.flags.set(name, token.slice(eq + 1));
      continue;
    }
    if (arity === 'none') out.flags.set(name, true);
    else {
      const next = argv[i + 1];
      if (next !== undefined && (arity === 'value' || !next.startsWith('-'))) {
        out.flags.set(name, next);
        i++;
      } else if (arity === 'optional') out.flags.set(name, true);
      else out.missingValue.push(name);
    }
  }
  return out;
}

export function stringFlag(parsed: ParsedArgv, name: string): string | undefined {
  const v = parsed.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}
