/**
 * Agent-controlled text (summaries, log lines, file names) and state-file content never reach a
 * terminal raw: control characters, escape sequences and bidirectional overrides are shown as
 * `\xNN` / `\uNNNN` escapes, so a log line cannot recolour the screen, move the cursor, rewrite
 * the line before it or reorder what the operator reads. Newlines and tabs stay.
 */
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function visibleText(text: string): string {
  return text.replace(INVISIBLE, (ch) => {
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * JSON for a terminal or a pipe: JSON.stringify already escapes C0 controls; DEL, C1 controls and
 * bidirectional overrides are escaped too (`\u009b` is a one-byte CSI on many terminals).
 */
export function stringifyJsonSafe(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(
    /[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
