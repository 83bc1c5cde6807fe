// The process logger: JSON lines on stdout (pino), level from the config.
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid } });
}
