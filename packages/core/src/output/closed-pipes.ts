/**
 * A reader that stops early (`| head`, quitting `less`) closes the pipe under a command's output,
 * and a terminal that hangs up (a closed ssh session, a closed window) fails every later write
 * with EIO: what is left has nowhere to go, so it is dropped, and the command still ends with its
 * own exit code (a wave pausing on SIGHUP still records its pause). Without this, the stream's EPIPE is an unhandled 'error' event (Node prints a stack trace and
 * exits 1), or, under oclif, its final flush waits for a drain that never comes and Node ends the
 * process with 13 ("unsettled top-level await"), an exit code of no command.
 */
export function dropOutputToClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'EIO') throw err;
      stream.write = () => true;
      // and whoever waits for the stream to drain (oclif's flush) is let go
      stream.emit('drain');
    });
}
