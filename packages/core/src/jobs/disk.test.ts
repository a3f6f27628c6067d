import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicy } from '../policy/load.js';
import { diskUsage, roomProblem } from './disk.js';

// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let dir: string;
let policy: ReturnType<typeof loadPolicy>;
beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-disk-')));
  policy = loadPolicy({ env: { HOME: dir } });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const MB = 1024 * 1024;
const answer = (free_bytes: number | null, free_files?: number | null) => ({
  ...diskUsage(undefined, '/state'),
  free_bytes,
  free_files,
});

describe('room left where dx-runner keeps its state', () => {
  it('status --disk tells free files as well as free bytes', () => {
    const disk = diskUsage(dir, dir);
    expect(disk.free_bytes).toBeGreaterThan(0);
    // a file system with an inode limit reports what is left of it
    expect(disk.free_files === null || disk.free_files! > 0).toBe(true);
  });

  it('a wave or a night refuses on too few bytes or too few files, and not when min_free_mb is 0', () => {
    const enough = policy.limits.minFreeMb * MB * 2;
    expect(roomProblem(answer(enough, 100_000), policy)).toBeUndefined();
    expect(roomProblem(answer(MB, 100_000), policy)).toMatch(
      /^only 1 MB free where dx-runner keeps its state \(\/state\)/,
    );
    expect(roomProblem(answer(enough, 12), policy)).toMatch(
      /^only 12 files \(inodes\) free where dx-runner keeps its state/,
    );
    // an older dx-runner says nothing of files; a file system without an inode limit says null
    expect(roomProblem(answer(enough), policy)).toBeUndefined();
    expect(roomProblem(answer(enough, null), policy)).toBeUndefined();
    const off = { ...policy, limits: { ...policy.limits, minFreeMb: 0 } };
    expect(roomProblem(answer(0, 0), off)).toBeUndefined();
  });
});
