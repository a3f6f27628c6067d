/**
 * A command's description is written wrapped at ~100 columns in its source, and oclif wraps each of
 * those lines again at the terminal's width (80 in a pipe): every other line of `--help` was a few
 * words long. A line break inside a paragraph becomes a space, so oclif wraps whole paragraphs; a
 * blank line (a new paragraph) and an indented line (the exit code table, a command to copy) stay.
 */
export function flowText(text: string): string {
  const prose = (line: string | undefined) => line !== undefined && /^\S/.test(line);
  return text
    .split('\n')
    .map((line, i, lines) => (i > 0 && prose(lines[i - 1]) && prose(line) ? ` ${line}` : `${i > 0 ? '\n' : ''}${line}`))
    .join('');
}

/** Flows the description of every command in a registry (see flowText), and returns the registry. */
export function withFlowingDescriptions<T extends Record<string, { description?: string }>>(commands: T): T {
  for (const command of Object.values(commands))
    if (command.description) command.description = flowText(command.description);
  return commands;
}
