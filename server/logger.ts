// The process logger: JSON lines on stdout (pino), level from the config.
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  // Written synchronously. A node logs at start, on failures and at shutdown, never per request.
  // pino's default destination buffers, and flushes at exit with a loop that retries every failed
  // write: with stdout's reader gone (EPIPE) a node given SIGTERM never exited.
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 1, sync: true }));
}
