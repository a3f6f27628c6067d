/** A plain aligned table for human output (no colours, so it pipes cleanly). */
export function renderTable(
  headers: string[],
  rows: Array<Array<string | number | null | undefined>>,
  maxWidth = 48,
): string {
  const cells = rows.map((r) =>
    r.map((c) => {
      const s = c === null || c === undefined || c === '' ? '-' : String(c);
      return s.length > maxWidth ? `${s.slice(0, maxWidth - 1)}…` : s;
    }),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...cells.map(line)].join('\n');
}

export function formatDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined) return '-';
  if (sec < 60) return `${sec}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m${sec % 60}s`;
  return `${Math.floor(sec / 3600)}h${Math.floor((sec % 3600) / 60)}m`;
}
