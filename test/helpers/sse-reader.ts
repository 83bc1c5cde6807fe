// A raw SSE client for tests: records every event and comment exactly as framed, and lets a test
// wait for a condition with a timeout instead of sleeping.
import http from 'node:http';

export interface ReadEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface SseReader {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: ReadEvent[];
  comments: string[];
  retry: number | null;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  isEnded(): boolean;
  /** Waits until `predicate` holds over what was received; rejects after `timeoutMs`. */
  until(predicate: (reader: SseReader) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** Waits for at least `count` data events (not named ones), returns them. */
  messages(count: number, timeoutMs?: number): Promise<ReadEvent[]>;
  /** Stops reading the socket, so its buffers fill up as a stalled viewer's would. */
  pause(): void;
  close(): void;
}

export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (response) => {
      let buffer = '';
      let current: ReadEvent = { data: '' };
      let hasData = false;
      const waiters = new Set<() => void>();
      let ended = false;
      let endResolve!: () => void;
      const reader: SseReader = {
        status: response.statusCode ?? 0,
        headers: response.headers,
        events: [],
        comments: [],
        retry: null,
        ended: new Promise<void>((done) => (endResolve = done)),
        isEnded: () => ended,
        until(predicate, timeoutMs = 5000, what = 'condition') {
          if (predicate(reader)) return Promise.resolve();
          return new Promise((done, fail) => {
            const check = () => {
              if (predicate(reader)) {
                clearTimeout(timer);
                waiters.delete(check);
                done();
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${reader.events.length} events`));
            }, timeoutMs);
            waiters.add(check);
          });
        },
        async messages(count, timeoutMs = 5000) {
          const data = () => reader.events.filter((event) => event.event === undefined);
          await reader.until(() => data().length >= count, timeoutMs, `${count} messages`);
          return data();
        },
        pause() {
          response.pause();
        },
        close() {
          request.destroy();
        },
      };
      const notify = () => {
        for (const waiter of [...waiters]) waiter();
      };
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) {
          if (line === '') {
            if (hasData || current.id !== undefined || current.event !== undefined) reader.events.push(current);
            current = { data: '' };
            hasData = false;
            continue;
          }
          const colon = line.indexOf(':');
          if (colon === 0) {
            reader.comments.push(line.slice(1).trimStart());
            continue;
          }
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') {
            current.data += (hasData ? '\n' : '') + value;
            hasData = true;
          } else if (field === 'id') current.id = value;
          else if (field === 'event') current.event = value;
          else if (field === 'retry') reader.retry = Number(value);
        }
        notify();
      });
      const finish = () => {
        if (ended) return;
        ended = true;
        endResolve();
        notify();
      };
      response.on('end', finish);
      response.on('close', finish);
      response.on('error', finish);
      // A paused response may not report the end; the socket closing always does. A flowing one
      // may still hold data when the socket closes, so it ends only once that data is read.
      request.on('close', () => {
        if (response.isPaused()) finish();
      });
      resolve(reader);
    });
    request.on('error', reject);
  });
}

/** Reads a whole non-SSE response body (an error answer from the events route). */
export async function readBody(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { headers });
  return { status: response.status, body: await response.text() };
}
