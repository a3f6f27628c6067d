/**
 * A plain decimal number as an operator writes one (30, 0.5, .5), or undefined: Number() would
 * also take 0x10 (16), 1e3, Infinity or a blank for a limit or a count.
 */
export function decimal(raw: string): number | undefined {
  const text = raw.trim();
  return /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(text) ? Number(text) : undefined;
}
