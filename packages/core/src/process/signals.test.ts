import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { groupAlive, sendSignal, terminateGroup } from './signals.js';
import { identify, type ProcessIdentity } from './identity.js';

const leaders: ProcessIdentity[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  // the groups this test spawned, by their leaders' identity (pid and start time)
  for (const leader of leaders.splice(0)) if (groupAlive(leader)) sendSignal(leader, 'SIGKILL', 'group');
});

describe('terminateGroup', () => {
  it('keeps its kill grace when the wall clock is stepped back an hour meanwhile (NTP, date -s)', async () => {
    // a group that ignores SIGTERM (the shell and its sleeps), so only the SIGKILL after the grace ends it
    const child = spawn('sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.1; done'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await once(child.stdout, 'data');
    const leader = identify(child.pid!)!;
    leaders.push(leader);
    const wallNow = Date.now.bind(Date);
    let calls = 0;
    // the first reading is the true time, every later one an hour earlier: a deadline counted on the
    // wall clock would be an hour away
    vi.spyOn(Date, 'now').mockImplementation(() => wallNow() - (calls++ === 0 ? 0 : 3_600_000));
    expect(await terminateGroup(leader, 300)).toBe('killed');
    expect(groupAlive(leader)).toBe(false);
  }, 20_000);
});
