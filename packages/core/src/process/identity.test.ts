import { describe, expect, it } from 'vitest';
import { currentBootId, processStatus, readProcessInfo } from './identity.js';

describe('process identity', () => {
  const me = readProcessInfo(process.pid)!;
  const boot = currentBootId()!;

  it('knows this boot', () => {
    expect(boot).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('is alive only as the very process recorded: pid, start time and, when recorded, boot', () => {
    expect(processStatus({ pid: process.pid, startTicks: me.startTicks }).status).toBe('alive');
    expect(processStatus({ pid: process.pid, startTicks: me.startTicks, bootId: boot }).status).toBe('alive');
    expect(processStatus({ pid: process.pid, startTicks: me.startTicks + 1, bootId: boot }).status).toBe('dead');
    // recorded before a reboot: whatever has that pid and start time now is another process
    const earlier = boot.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect(processStatus({ pid: process.pid, startTicks: me.startTicks, bootId: earlier }).status).toBe('dead');
    expect(processStatus({ pid: process.pid, startTicks: undefined, bootId: boot }).status).toBe('unproven');
  });
});
