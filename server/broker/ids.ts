// Stream entry ids (`<ms>-<seq>`, the Redis Stream form): parsing and ordering, shared by both
// brokers and by the resume path. Pure functions.

import { rememberLast } from './remember-last.js';

export interface EntryId {
  ms: number;
  seq: number;
}

const ENTRY_ID = /^(\d{1,15})-(\d{1,15})$/;

/** Parses `<ms>-<seq>`; a bare `<ms>` means `<ms>-0` as in Redis. Null when malformed. */
export function parseId(text: string): EntryId | null {
  if (/^\d{1,15}$/.test(text)) return { ms: Number(text), seq: 0 };
  const match = ENTRY_ID.exec(text);
  if (!match) return null;
  return { ms: Number(match[1]), seq: Number(match[2]) };
}

export function formatId(id: EntryId): string {
  return `${msText(id.ms)}-${id.seq}`;
}

/**
 * A timestamp's digits, remembered for the last one: an id's `<ms>` and the message's `ts` in
 * its JSON are the same number, and past 2^31 it is a double, which takes the slow way to text.
 */
export const msText: (ms: number) => string = rememberLast(String);

export function compareIds(a: EntryId, b: EntryId): number {
  return a.ms - b.ms || a.seq - b.seq;
}

/** Compares two well-formed id strings. */
export function compareIdText(a: string, b: string): number {
  const left = parseId(a);
  const right = parseId(b);
  if (!left || !right) throw new Error(`malformed stream id: ${!left ? a : b}`);
  return compareIds(left, right);
}

/** The next id after `last` at wall-clock `nowMs`: time if it moved on, else last seq + 1. */
export function nextId(last: EntryId | null, nowMs: number): EntryId {
  if (!last || nowMs > last.ms) return { ms: nowMs, seq: 0 };
  return { ms: last.ms, seq: last.seq + 1 };
}

/**
 * Whether a resume id is past the newest id its stream ever gave. Where the broker cannot tell
 * (a single node's memory after a restart, where the viewer's id is no sign of a loss), the clock
 * decides, as ids are times: an id past the present would hold back every live message.
 */
export function isPast(id: string, position: string | null, nowMs: number): boolean {
  if (position !== null) return compareIdText(id, position) > 0;
  return (parseId(id)?.ms ?? 0) > nowMs;
}
