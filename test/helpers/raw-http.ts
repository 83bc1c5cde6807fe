// A raw HTTP/1.x client for tests that need what supertest hides: several requests pipelined on
// one socket, the exact response heads, and whether the server closed the connection.
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names lower-cased, in the order sent. */
  headers: [string, string][];
  header(name: string): string | undefined;
  body: string;
}

export interface RawConnection {
  socket: Socket;
  send(bytes: string | Buffer): void;
  /** Resolves with the next `count` responses, in the order they arrived. */
  responses(count: number, timeoutMs?: number): Promise<RawResponse[]>;
  /** Resolves once the server has closed its side. */
  closed: Promise<void>;
  close(): void;
}

export function openRaw(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let received = Buffer.alloc(0);
  const parsed: RawResponse[] = [];
  let wake: (() => void) | null = null;
  const closed = new Promise<void>((resolve) => socket.once('end', () => resolve()));
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    for (;;) {
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) break;
      const lines = received.toString('latin1', 0, end).split('\r\n');
      const headers = lines.slice(1).map((line): [string, string] => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      });
      const length = Number(headers.find(([name]) => name === 'content-length')?.[1] ?? 0);
      if (received.length < end + 4 + length) break;
      const body = received.toString('utf8', end + 4, end + 4 + length);
      received = received.subarray(end + 4 + length);
      parsed.push({
        status: Number(lines[0]!.split(' ')[1]),
        headers,
        header: (name) => headers.find(([key]) => key === name)?.[1],
        body,
      });
    }
    wake?.();
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () =>
      resolve({
        socket,
        send: (bytes) => socket.write(bytes),
        async responses(count, timeoutMs = 5000) {
          const deadline = Date.now() + timeoutMs;
          while (parsed.length < count) {
            if (Date.now() > deadline) throw new Error(`${parsed.length} of ${count} responses within ${timeoutMs} ms`);
            await new Promise<void>((wakeUp) => {
              wake = wakeUp;
              setTimeout(wakeUp, 50);
            });
          }
          return parsed.splice(0, count);
        },
        closed,
        close: () => socket.destroy(),
      }),
    );
  });
}

/** The bytes of one request; `Content-Length` is added when there is a body. */
export function rawRequest(method: string, path: string, headers: Record<string, string> = {}, body?: string, version = '1.1'): string {
  const lines = [`${method} ${path} HTTP/${version}`];
  if (version === '1.1' && !Object.keys(headers).some((name) => name.toLowerCase() === 'host')) lines.push('Host: test');
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
}

export const jsonPost = (stream: string, body: string, headers: Record<string, string> = {}) =>
  rawRequest('POST', `/streams/${stream}/messages`, { 'Content-Type': 'application/json', ...headers }, body);
