import { describe, expect, it } from 'vitest';
import {
  NEXT_ACTION_BY_CLASS,
  NEXT_ACTION_BY_REASON,
  NEXT_ACTIONS,
  nextActionFor,
  nextActionText,
} from './next-actions.js';

describe('next actions', () => {
  it('has a written sentence for every next action a reason code or failure class leads to', () => {
    const ids = [
      ...Object.values(NEXT_ACTION_BY_REASON),
      ...Object.values(NEXT_ACTION_BY_CLASS),
      nextActionFor('no_such_reason'),
    ];
    expect(ids.filter((id) => !NEXT_ACTIONS[id])).toEqual([]);
  });

  it('keeps identifiers stable and machine-friendly, sentences human', () => {
    for (const [id, text] of Object.entries(NEXT_ACTIONS)) {
      expect(id).toMatch(/^[A-Za-z0-9_.:@/=-]+$/);
      expect(text).toMatch(/^[A-Z`a-z].*\.$/);
      expect(text).not.toContain('_or_');
    }
  });

  it("reads an unknown identifier (a provider plugin's own) as its words, and null as null", () => {
    expect(nextActionText('npm_install_-g_opencode-ai@1.18.33')).toBe('Npm install -g opencode-ai@1.18.33.');
    expect(nextActionText('see_--help')).toBe('Run the command with `--help` for its usage.');
    expect(nextActionText('monitor', { monitor: 'Watch it.' })).toBe('Watch it.');
    expect(nextActionText(null)).toBeNull();
  });
});
