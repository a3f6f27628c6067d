import { runTool } from '../process/run.js';
import type { RunToolResult } from '../providers/hook.js';
import { findExecutable } from '../providers/services.js';

/**
 * The Beads CLI, driven through its documented contract (`bd … --json`):
 * `--json` output is a raw array for show/list/ready, errors are plain text on stderr.
 */
export interface BeadsIssue {
  id: string;
  title: string;
  status: string;
  priority?: number;
  issue_type?: string;
  assignee?: string;
  /** When bd last changed the issue (a claim is a change). */
  updated_at?: string;
  description?: string;
  labels?: string[];
  [key: string]: unknown;
}

export interface ClaimInfo {
  claimedBy: string;
  claimedAt: string | null;
}

/**
 * "already claimed by <owner>[ at <timestamp>]" with multi-word owners (the fix of the
 * first-word-only regex). bd may exit 0 on it, so callers check the text, not the exit code.
 */
export function parseClaimError(text: string): ClaimInfo | undefined {
  // only a timestamp at the very end is stripped: "Bob at the office" is a whole owner
  const m =
    /already claimed by (.+?)(?:\s+at\s+(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?)(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?\s*$/im.exec(
      text,
    );
  if (!m) return undefined;
  return { claimedBy: m[1].trim(), claimedAt: m[2]?.replace(' ', 'T') ?? null };
}

export function bdBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findExecutable(env.BD_BIN?.trim() || 'bd', env);
}

export class BdClient {
  constructor(
    readonly bin: string,
    readonly cwd: string,
    readonly env: NodeJS.ProcessEnv = process.env,
    readonly timeoutMs = 30_000,
  ) {}

  run(args: string[]): Promise<RunToolResult> {
    return runTool(this.bin, args, { cwd: this.cwd, env: this.env, timeoutMs: this.timeoutMs });
  }

  /** The first x.y.z in `bd --version` (trailing text like "(abc)" is ignored). */
  async version(): Promise<string | undefined> {
    const r = await this.run(['--version']);
    return /\d+\.\d+\.\d+/.exec(`${r.stdout} ${r.stderr}`)?.[0];
  }

  async ping(): Promise<{ ok: boolean; error?: string }> {
    const r = await this.run(['ping', '--json']);
    const json = safeJson(r.stdout) as { status?: string; error?: string } | undefined;
    if (r.exitCode === 0 && json?.status === 'ok') return { ok: true };
    return { ok: false, error: json?.error ?? firstLine(r.stderr || r.stdout) ?? `bd ping exited ${r.exitCode}` };
  }

  async context(): Promise<Record<string, unknown> | undefined> {
    const r = await this.run(['context', '--json']);
    const json = safeJson(r.stdout);
    return r.exitCode === 0 && json && typeof json === 'object' && !Array.isArray(json)
      ? (json as Record<string, unknown>)
      : undefined;
  }

  async show(id: string): Promise<BeadsIssue | undefined> {
    const found = await this.lookup(id);
    return 'issue' in found ? found.issue : undefined;
  }

  /** `bd show`, telling an issue bd does not have (`missing`) from a bd that could not answer (`error`). */
  async lookup(id: string): Promise<{ issue: BeadsIssue } | { missing: true } | { error: string }> {
    const r = await this.run(['show', id, '--json']);
    const json = safeJson(r.stdout);
    const issue: unknown = Array.isArray(json)
      ? (json as unknown[])[0]
      : json && typeof json === 'object' && 'id' in json
        ? json
        : undefined;
    if (r.exitCode === 0 && issue) return { issue: issue as BeadsIssue };
    // bd's answer for an unknown id: {"error":"no issues found matching the provided IDs"} on stdout
    const said = json && typeof json === 'object' && 'error' in json ? String(json.error) : '';
    if (/no issues? found/i.test(said)) return { missing: true };
    return { error: firstLine(r.stderr || said || r.stdout) ?? `bd show exited ${r.exitCode}` };
  }

  async ready(): Promise<BeadsIssue[]> {
    return this.issues(['ready', '--json']);
  }

  /** `bd list --status S --type T --json` (a filter left out is not passed). */
  async list(filters: { status?: string; type?: string } = {}): Promise<BeadsIssue[]> {
    return this.issues([
      'list',
      ...(filters.status ? ['--status', filters.status] : []),
      ...(filters.type ? ['--type', filters.type] : []),
      '--json',
    ]);
  }

  private async issues(args: string[]): Promise<BeadsIssue[]> {
    const r = await this.run(args);
    if (r.exitCode !== 0)
      throw new Error(`bd ${args[0]} failed: ${firstLine(r.stderr || r.stdout) ?? `exit ${r.exitCode}`}`);
    const json = safeJson(r.stdout);
    // BD_JSON_ENVELOPE=1 (the v2.0 default) wraps the array as {schema_version, data}
    const list = Array.isArray(json) ? json : (json as { data?: unknown } | undefined)?.data;
    if (!Array.isArray(list)) throw new Error(`bd ${args[0]} --json did not print a JSON array`);
    return list as BeadsIssue[];
  }

  setStatus(id: string, status: string): Promise<RunToolResult> {
    return this.run(['update', id, '--status', status, '--json']);
  }

  /** Gives a claim back (`bd update ID --status open --assignee ""`): the issue is ready again. True when bd took it. */
  async release(id: string): Promise<boolean> {
    return (await this.run(['update', id, '--status', 'open', '--assignee', '', '--json'])).exitCode === 0;
  }

  /** Atomic claim (`bd update ID --claim`); an issue held by someone else is reported, never taken. */
  async claim(
    id: string,
    actor?: string,
  ): Promise<
    | { claimed: true }
    | { claimed: false; claimedBy?: string; claimedAt?: string | null; error: string }
    /** bd was ended (its timeout, a signal to the process group) before it answered: it may have claimed. */
    | { claimed: 'unknown'; error: string }
  > {
    const r = await this.run([...(actor ? ['--actor', actor] : []), 'update', id, '--claim', '--json']);
    if (r.timedOut || r.signal)
      return {
        claimed: 'unknown',
        error: `bd update --claim ${r.timedOut ? `timed out after ${this.timeoutMs / 1000}s` : `was ended by ${r.signal}`} before it answered`,
      };
    const text = `${r.stderr}\n${r.stdout}`;
    const taken = parseClaimError(text);
    if (taken)
      return {
        claimed: false,
        claimedBy: taken.claimedBy,
        claimedAt: taken.claimedAt,
        error: `already claimed by ${taken.claimedBy}`,
      };
    if (r.exitCode !== 0)
      return { claimed: false, error: firstLine(r.stderr || r.stdout) ?? `bd update --claim exited ${r.exitCode}` };
    return { claimed: true };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text.trim()) as unknown;
  } catch {
    return undefined;
  }
}

function firstLine(text: string): string | undefined {
  return text.trim().split('\n')[0]?.trim() || undefined;
}
