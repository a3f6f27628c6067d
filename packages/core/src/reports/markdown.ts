/**
 * Text from outside the toolkit (an agent's file names and summaries, a CLI's error text, an issue
 * title) placed in a markdown report. A line break in it would start a line of its own: a heading,
 * a list item that reads like the report's own ("- State: exited_ok"), a table row. These keep it
 * inside its line, cell or code span, so a report says only what the toolkit wrote.
 */

/** Within one line: line breaks shown as `\n`. */
export function markdownInline(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '\\n');
}

/** Within a table cell: one line, its pipes escaped. */
export function markdownCell(text: string): string {
  return markdownInline(text).replace(/\|/g, '\\|');
}

/** As inline code: one line, in a fence longer than any run of backticks inside, so it cannot close early. */
export function markdownCode(text: string): string {
  const inline = markdownInline(text);
  const longest = Math.max(0, ...(inline.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = inline.startsWith('`') || inline.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${inline}${pad}${fence}`;
}
