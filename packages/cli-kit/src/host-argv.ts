/** A flag's value in raw argv (`--flag v` or `--flag=v`), before `--`; undefined when absent. */
export function argvFlag(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return undefined;
    if (a === `--${name}`) return argv[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/** argv without `--flag v` / `--flag=v` (every occurrence before `--`). */
export function withoutFlag(argv: readonly string[], name: string): string[] {
  const out: string[] = [];
  let ended = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!ended && a === '--') ended = true;
    if (!ended && a === `--${name}`) {
      i++;
      continue;
    }
    if (!ended && a.startsWith(`--${name}=`)) continue;
    out.push(a);
  }
  return out;
}

/** argv with the value of `--flag` replaced (the flag must be present). */
export function replaceFlagValue(argv: readonly string[], name: string, value: string): string[] {
  return [...withoutFlag(argv, name), `--${name}`, value];
}
