// Validation of what clients send: stream names, event ids, message bodies and query strings.
// Pure functions that return a value or throw an ApiError from the catalogue.
import { z } from 'zod';
import type { MessageInput } from './broker/broker.js';
import { formatId, parseId } from './broker/ids.js';
import { apiError } from './errors.js';

export const STREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function parseStreamName(value: unknown): string {
  if (typeof value !== 'string' || !STREAM_NAME.test(value)) throw apiError('invalid_stream_name');
  return value;
}

/** An optional event id from a header or query: absent -> null, malformed -> 400. */
export function parseLastEventId(value: unknown): string | null {
  if (value === undefined || value === '') return null;
  const id = typeof value === 'string' ? parseId(value.trim()) : null;
  if (!id) throw apiError('invalid_last_event_id');
  return formatId(id);
}

export type StreamFormat = 'json' | 'html';

export function parseFormat(value: unknown): StreamFormat {
  if (value === undefined || value === 'json') return 'json';
  if (value === 'html') return 'html';
  throw apiError('invalid_format');
}

export interface MessageLimits {
  maxAuthorChars: number;
  maxTextChars: number;
}

/**
 * Bytes a request body needs to carry a message at the length limits, however its characters are
 * written: a UTF-16 unit takes up to 9 bytes in a form (a three-byte character, percent-encoded)
 * and up to 6 in JSON (`\uXXXX`), plus the field names and punctuation. A body limit below this
 * answers 413 to a message the limits allow: 2,000 CJK characters are 18 KB as a form.
 */
function messageBodyBytes(limits: MessageLimits, encoding: 'json' | 'form'): number {
  const perUnit = encoding === 'form' ? 9 : 6;
  return perUnit * (limits.maxAuthorChars + limits.maxTextChars) + MESSAGE_BODY_OVERHEAD;
}

/** Room for `{"author":"","text":""}` or `author=&text=`, with white space and a field more. */
const MESSAGE_BODY_OVERHEAD = 256;

/** The body limit for a message post: MAX_BODY_BYTES, or what a message at the limits needs if more. */
export function messageBodyLimit(limits: MessageLimits & { maxBodyBytes: number }, encoding: 'json' | 'form'): number {
  return Math.max(limits.maxBodyBytes, messageBodyBytes(limits, encoding));
}

/** Author is one line: runs of white space become one space. */
function normaliseAuthor(value: string): string {
  // Most authors are printable ASCII with single spaces between words, which this leaves as they
  // are: a scan costs less than a regular expression's replace on every post.
  return isPlainWords(value) ? value : value.replace(/\s+/g, ' ').trim();
}

/** Printable ASCII, and no space at either end or next to another. */
function isPlainWords(value: string): boolean {
  let previous = 0x20;
  for (let at = 0; at < value.length; at++) {
    const code = value.charCodeAt(at);
    if (code < 0x20 || code > 0x7e || (code === 0x20 && previous === 0x20)) return false;
    previous = code;
  }
  return previous !== 0x20;
}

/** Text keeps its line breaks, normalised to \n; NUL is dropped. */
function normaliseText(value: string): string {
  // Each replace only where there is something to replace: most texts have neither.
  if (value.includes('\r')) value = value.replace(/\r\n?/g, '\n');
  if (value.includes('\0')) value = value.replace(/[\0]/g, '');
  return value.trim();
}

/** A required string field, normalised, then between 1 and `max` characters. */
function boundedField(name: string, normalise: (value: string) => string, max: number) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `${name} is required` : `${name} must be a string`) })
    .transform(normalise)
    .pipe(z.string().min(1, `${name} is required`).max(max, `${name} is at most ${max} characters`));
}

export function messageSchema(limits: MessageLimits) {
  const author = boundedField('author', normaliseAuthor, limits.maxAuthorChars);
  const text = boundedField('text', normaliseText, limits.maxTextChars);
  return z.object({ author, text }, { error: 'the body must be an object with author and text' });
}

export type MessageSchema = ReturnType<typeof messageSchema>;

export function parseMessageInput(schema: MessageSchema, body: unknown): MessageInput {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw apiError('invalid_message', parsed.error.issues.map((issue) => issue.message).join('; '));
  return parsed.data;
}

/**
 * The schema's result for a valid message, without zod: null for anything the schema might
 * reject, which then goes through parseMessageInput for its exact error. The fast path's check;
 * it must give what `schema.parse` gives for every input it accepts.
 */
export function quickMessageInput(body: unknown, limits: MessageLimits): MessageInput | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const { author: rawAuthor, text: rawText } = body as Record<string, unknown>;
  if (typeof rawAuthor !== 'string' || typeof rawText !== 'string') return null;
  const author = normaliseAuthor(rawAuthor);
  const text = normaliseText(rawText);
  if (author.length < 1 || author.length > limits.maxAuthorChars) return null;
  if (text.length < 1 || text.length > limits.maxTextChars) return null;
  return { author, text };
}

export function parseHistoryQuery(query: Record<string, unknown>, maxLimit: number): { after: string | null; limit: number } {
  const after = parseLastEventId(query.after);
  const rawLimit = query.limit;
  if (rawLimit === undefined) return { after, limit: Math.min(100, maxLimit) };
  const limit = typeof rawLimit === 'string' && /^\d{1,7}$/.test(rawLimit) ? Number(rawLimit) : NaN;
  if (!(limit >= 1 && limit <= maxLimit)) throw apiError('invalid_query', `limit must be an integer from 1 to ${maxLimit}`);
  return { after, limit };
}
