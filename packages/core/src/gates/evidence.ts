import fs from 'node:fs';
import path from 'node:path';
import { inputFileProblem, readInputFile } from '../config/input-file.js';
import { assertBeadsId } from '../jobs/beads-id.js';
import type { OutcomeRecord } from '../jobs/records.js';
import { openLog } from '../jobs/logs.js';
import type { ProviderRuntime } from '../providers/contract.js';
import { readToolTranscript } from '../providers/transcript.js';
import { requireJob } from '../jobs/store.js';
import type { EvidenceClaim, EvidenceGateOutput } from '../schemas/gates.js';
import { verdict } from './target.js';

/** A signoff is a page of claims: a file past this is not one. */
const MAX_SIGNOFF_BYTES = 16 * 1024 * 1024;
/** How much of the job's log the gate reads (from the end). */
const LOG_WINDOW = 8 * 1024 * 1024;

const CLAIM_LINE = /^\s*(?:[-*]\s*\[[xX]\]\s*|(?:VERIFIED|CONFIRMED|VALIDATED)\s*:\s*)(.+)$/i;
const TEST_COMMAND =
  /\b(npm (?:run )?test|pnpm (?:run )?test|yarn test|npx vitest|vitest run|vitest\b|jest\b|mocha\b|pytest|go test|cargo test|make test|mvn test|gradle test|node --test|bun test|python3? -m (?:unittest|pytest)|tox\b|deno test|dotnet test)/i;
/**
 * A line reporting passing tests: a count ("12 passed", "5 passing"; never "0 passed"), jest's and
 * go's PASS (upper case: "# pass 0" and "will pass" in a tool's output are no test run), go's
 * `ok  pkg 0.1s`, unittest's closing `OK`, node:test's `# pass 5` (TAP) or `ℹ pass 5`.
 */
const TEST_PASS = [
  /\b[1-9]\d* (?:tests? )?(?:passed|passing)\b|\ball tests passed\b|(?<!\b(?:0|no) )\btests? passed\b/i,
  /\bPASS\b|\bOK \(\d+ tests?\)|^ok\s+\S+\s+(?:[\d.]+s|\(cached\))|^OK(?: \([^)]*\))?\s*$|^[#ℹ] pass [1-9]/,
];
/**
 * A line reporting a failure: failed or erroring tests (pytest's "1 error", mocha's "1 failing"),
 * FAIL, node:test's `# fail 1` or `ℹ fail 1`.
 */
const TEST_FAIL =
  /\b[1-9]\d* (?:tests? )?(?:failed|failing)\b|\b[1-9]\d* errors?\b|\bFAIL\b|\bFAILED\b|^[#ℹ] fail [1-9]/;
const LINT_COMMAND =
  /\b(eslint|npm run lint|pnpm lint|yarn lint|ruff|flake8|golangci-lint|tsc --noEmit|biome (?:check|lint))/i;
/** A linter's or type checker's closing count (eslint, tsc, ruff): about the code, not a test result. */
const LINT_SUMMARY = /^(?:✖\s*)?\d+ problems?\b|^Found \d+ errors?\b/;
const LINT_FAIL = /\b[1-9]\d* (?:errors?|problems?)\b|✖ \d+ problem/i;

function classify(text: string): EvidenceClaim['kind'] {
  if (/lint/i.test(text)) return 'lint_passed';
  if (/\btests?\b.*\b(pass|passed|passing|green|ok|succeed)/i.test(text) || /\ball tests\b/i.test(text))
    return 'tests_passed';
  if (/\bcommit(ted|s)?\b|\bpushed\b/i.test(text)) return 'commit_made';
  if (
    /\bfiles?\b.*\b(changed|modified|updated|created|added|touched|edited)\b|\b(changed|modified|updated|created|edited|added|touched)\b.*(\bfiles?\b|`[^`]+`)/i.test(
      text,
    )
  )
    return 'files_changed';
  return 'other';
}

/** Last position of a match, or -1. */
function lastIndex(text: string, re: RegExp): number {
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
  let last = -1;
  for (let m = g.exec(text); m; m = g.exec(text)) last = m.index;
  return last;
}

/**
 * The last line reporting a test result decides: a summary like "2 failed | 10 passed" is a
 * failure (exported for its unit test).
 */
export function lastTestVerdict(log: string): 'pass' | 'fail' | undefined {
  const lines = log.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (LINT_SUMMARY.test(line)) continue;
    if (TEST_FAIL.test(line)) return 'fail';
    if (TEST_PASS.some((re) => re.test(line))) return 'pass';
  }
  return undefined;
}

/**
 * The files a claim names: each in backquotes, and each bare path (`src/a.ts`) or name (`a.ts`). A
 * bare name with no folder is a file only if the job changed one so named or the worktree's top
 * holds it: "Node.js" or "e.g." in a sentence name no file.
 */
function mentionedFiles(text: string, changed: readonly string[], worktree: string): string[] {
  const quoted = [...text.matchAll(/`([^`\s]+)`/g)].map((m) => m[1]);
  const bare = [...text.matchAll(/(?:^|\s)((?:[\w.-]+\/)+[\w.-]+|[\w-]+\.[a-z]{1,5})(?=[\s,;:)]|$)/gi)]
    .map((m) => m[1])
    .filter(
      (f) =>
        f.includes('/') || changed.some((c) => c === f || c.endsWith(`/${f}`)) || fs.existsSync(path.join(worktree, f)),
    );
  return [...new Set([...quoted, ...bare])].filter((f) => /[/.]/.test(f));
}

/**
 * What the job's runs are judged on: the tools' own output where the provider can tell it from the
 * agent's words (an agent writing "npm test: 12 passed" in a message has run nothing), else the log.
 */
export interface RunRecord {
  text: string;
  /** Where `text` came from, as the evidence names it. */
  source: 'the tools’ output' | 'the job log';
}

function check(
  kind: EvidenceClaim['kind'],
  text: string,
  outcome: OutcomeRecord,
  runs: RunRecord,
): Pick<EvidenceClaim, 'status' | 'evidence'> {
  const { text: log, source } = runs;
  switch (kind) {
    case 'tests_passed': {
      if (!TEST_COMMAND.test(log)) return { status: 'contradicted', evidence: `${source} shows no test run` };
      const last = lastTestVerdict(log.slice(lastIndex(log, TEST_COMMAND)));
      if (last === undefined)
        return { status: 'contradicted', evidence: `tests were run but no passing result appears in ${source}` };
      if (last === 'fail')
        return { status: 'contradicted', evidence: `the last test result in ${source} is a failure` };
      return { status: 'verified', evidence: `a test run ending in a passing result appears in ${source}` };
    }
    case 'lint_passed': {
      if (!LINT_COMMAND.test(log)) return { status: 'contradicted', evidence: `${source} shows no lint run` };
      return LINT_FAIL.test(log.slice(lastIndex(log, LINT_COMMAND)))
        ? { status: 'contradicted', evidence: 'the lint run reported errors' }
        : { status: 'verified', evidence: `a clean lint run appears in ${source}` };
    }
    case 'commit_made': {
      const commits = outcome.commits ?? [];
      if (commits.length === 0) return { status: 'contradicted', evidence: 'the job made no commit' };
      const shas = [...text.matchAll(/\b[0-9a-f]{7,40}\b/gi)].map((m) => m[0].toLowerCase());
      const unknown = shas.filter((s) => !commits.some((c) => c.startsWith(s)));
      if (unknown.length > 0)
        return {
          status: 'contradicted',
          evidence: `commit ${unknown.join(', ')} is not among the job's commits (${commits.map((c) => c.slice(0, 12)).join(', ')})`,
        };
      return {
        status: 'verified',
        evidence: `the job made ${commits.length} commit(s): ${commits.map((c) => c.slice(0, 12)).join(', ')}`,
      };
    }
    case 'files_changed': {
      const changed = outcome.changed_files ?? [];
      if (changed.length === 0) return { status: 'contradicted', evidence: 'the job changed no file' };
      const named = mentionedFiles(text, changed, outcome.worktree);
      const absent = named.filter((f) => !changed.some((c) => c === f || c.endsWith(`/${f}`)));
      if (absent.length > 0)
        return { status: 'contradicted', evidence: `not changed by the job: ${absent.join(', ')}` };
      const count = /\b(\d+)\s+files?\b/i.exec(text);
      if (count && changed.length < Number(count[1]))
        return { status: 'contradicted', evidence: `claims ${count[1]} files, the job changed ${changed.length}` };
      return {
        status: 'verified',
        evidence: `the job changed ${changed.length} file(s)${named.length ? ` including ${named.join(', ')}` : ''}`,
      };
    }
    default:
      return { status: 'unverifiable', evidence: 'no record of the job can confirm or refute this claim' };
  }
}

function readLogTail(file: string): string {
  try {
    // the log is the job's, but a FIFO or a symlink put in its place must not hang or redirect the gate
    const fd = openLog(file);
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, LOG_WINDOW);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** What the gate judges runs on (exported for its unit test). */
export function runRecord(log: string, runtime: ProviderRuntime | undefined): RunRecord {
  const transcript = readToolTranscript(runtime, log);
  if (transcript) return { text: transcript.join('\n'), source: 'the tools’ output' };
  // agent CLIs log tool output inside JSON strings: read their escaped newlines as lines
  return { text: log.replace(/(?:\\r)?\\n/g, '\n'), source: 'the job log' };
}

/**
 * Evidence gate: the claims of a signoff file (checked boxes, VERIFIED:/CONFIRMED: lines) checked
 * against what the job really did — its commits, changed files and log. A claim the record
 * contradicts fails the gate; one it cannot judge fails it only with --strict.
 */
export async function evidenceGate(options: {
  root?: string;
  beads: string;
  signoffFile: string;
  strict?: boolean;
  /** The job's provider, whose `toolTranscript` tells its tools' output from the agent's words. */
  runtimeOf?: (providerId: string) => Promise<ProviderRuntime | undefined>;
}): Promise<EvidenceGateOutput> {
  const beads = assertBeadsId(options.beads);
  const strict = options.strict ?? false;
  const job = requireJob(options.root, beads);
  const target = { beads, worktree: job.meta?.worktree ?? null };
  const base = { signoff_file: options.signoffFile, strict, claims: [] as EvidenceClaim[], verified: 0, total: 0 };
  let text: string;
  try {
    text = readInputFile(options.signoffFile, MAX_SIGNOFF_BYTES);
  } catch (err) {
    return {
      ...verdict(
        'evidence',
        target,
        false,
        'signoff_file_missing',
        `signoff file ${options.signoffFile}: ${inputFileProblem(err)}`,
      ),
      ...base,
    };
  }
  const claimLines = text.split('\n').flatMap((line, i) => {
    const m = CLAIM_LINE.exec(line);
    return m ? [{ line: i + 1, text: m[1].trim() }] : [];
  });
  // A signoff that claims nothing is no evidence of anything: passing it would read as a job checked.
  if (claimLines.length === 0)
    return {
      ...verdict(
        'evidence',
        target,
        false,
        'signoff_without_claims',
        `signoff file ${options.signoffFile} makes no claim (no checked box "- [x] …" and no VERIFIED:/CONFIRMED:/VALIDATED: line)`,
      ),
      ...base,
    };
  const outcome = job.outcome;
  if (!outcome)
    return {
      ...verdict(
        'evidence',
        target,
        false,
        'outcome_missing',
        `job ${beads} has no outcome yet (still running or never finished)`,
      ),
      ...base,
    };
  const kinds = claimLines.map(({ text: claimText }) => classify(claimText));
  const judgesRuns = kinds.some((kind) => kind === 'tests_passed' || kind === 'lint_passed');
  const runs = judgesRuns
    ? runRecord(readLogTail(job.paths.log), await options.runtimeOf?.(job.meta?.provider ?? outcome.provider))
    : { text: '', source: 'the job log' as const };
  const claims: EvidenceClaim[] = claimLines.map(({ line, text: claimText }, i) => ({
    line,
    text: claimText,
    kind: kinds[i],
    ...check(kinds[i], claimText, outcome, runs),
  }));
  const verified = claims.filter((c) => c.status === 'verified').length;
  const contradicted = claims.filter((c) => c.status === 'contradicted');
  const unverifiable = claims.filter((c) => c.status === 'unverifiable');
  const out = { ...base, claims, verified, total: claims.length };
  if (contradicted.length > 0 || (strict && unverifiable.length > 0)) {
    const bad = [...contradicted, ...(strict ? unverifiable : [])];
    return {
      ...verdict(
        'evidence',
        target,
        false,
        'unverified_claims',
        `${bad.length}/${claims.length} claim(s) not backed by the job: ${bad.map((c) => `line ${c.line}: ${c.evidence}`).join('; ')}`,
      ),
      ...out,
    };
  }
  const note = unverifiable.length > 0 ? ` (${unverifiable.length} could not be checked)` : '';
  return {
    ...verdict(
      'evidence',
      target,
      true,
      'evidence_ok',
      `${verified}/${claims.length} claims verified against the job${note}`,
    ),
    ...out,
  };
}
