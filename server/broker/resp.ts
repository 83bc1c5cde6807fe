// RESP2, the Redis wire format, for the one command sse-chat sends on its own sockets (see
// direct-publisher.ts): encoding a command and reading replies out of a byte stream that arrives in
// arbitrary chunks. Pure; nothing here touches a socket.

/** A decoded reply. Errors are values here: the caller decides what a `-MOVED` means. */
export type Reply =
  | { kind: 'string'; value: string }
  | { kind: 'null' }
  | { kind: 'integer'; value: number }
  | { kind: 'error'; message: string }
  | { kind: 'array'; items: Reply[] };

/** An error reply thrown at a caller, named as ioredis names them so the broker classifies both alike. */
export class RedisReplyError extends Error {
  override readonly name = 'ReplyError';
}

/** `*N` then `$len` + bytes for every argument: the only request form Redis must accept. */
export function encodeCommand(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

const CR = 13;
/** Returned by the parser when the buffer ends inside a reply. */
const INCOMPLETE = Symbol('incomplete');
type Parsed = { reply: Reply; end: number } | typeof INCOMPLETE;

/**
 * Feed it chunks as they come off the socket; it returns every reply completed so far, in order.
 * A protocol violation throws: the connection can no longer be trusted and must be closed.
 */
export class ReplyReader {
  private pending: Buffer | null = null;

  push(chunk: Buffer): Reply[] {
    const buffer = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const replies: Reply[] = [];
    let offset = 0;
    while (offset < buffer.length) {
      const parsed = parseReply(buffer, offset);
      if (parsed === INCOMPLETE) break;
      replies.push(parsed.reply);
      offset = parsed.end;
    }
    // Copied, so a large socket chunk is not kept alive by a few bytes of an unfinished reply.
    this.pending = offset < buffer.length ? Buffer.from(buffer.subarray(offset)) : null;
    return replies;
  }
}

function parseReply(buffer: Buffer, start: number): Parsed {
  const lineEnd = buffer.indexOf(CR, start);
  if (lineEnd < 0 || lineEnd + 1 >= buffer.length) return INCOMPLETE;
  const type = buffer[start];
  const line = buffer.toString('latin1', start + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case 0x2b: // +
      return { reply: { kind: 'string', value: line }, end: afterLine };
    case 0x2d: // -
      return { reply: { kind: 'error', message: line }, end: afterLine };
    case 0x3a: // :
      return { reply: { kind: 'integer', value: toNumber(line) }, end: afterLine };
    case 0x24: {
      // $
      const length = toNumber(line);
      if (length < 0) return { reply: { kind: 'null' }, end: afterLine };
      const end = afterLine + length + 2;
      if (end > buffer.length) return INCOMPLETE;
      return { reply: { kind: 'string', value: buffer.toString('utf8', afterLine, afterLine + length) }, end };
    }
    case 0x2a: {
      // *
      const count = toNumber(line);
      if (count < 0) return { reply: { kind: 'null' }, end: afterLine };
      const items: Reply[] = [];
      let offset = afterLine;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, offset);
        if (item === INCOMPLETE) return INCOMPLETE;
        items.push(item.reply);
        offset = item.end;
      }
      return { reply: { kind: 'array', items }, end: offset };
    }
    default:
      throw new Error(`not a RESP2 reply: byte ${type} at ${start}`);
  }
}

function toNumber(text: string): number {
  if (!/^-?\d{1,15}$/.test(text)) throw new Error(`not a RESP2 number: ${text}`);
  return Number(text);
}
