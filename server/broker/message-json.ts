// A message's JSON text, made once for every place that sends it in the same turn: a post's
// frame to the stream's viewers and its 201 to the poster carry the same text.
import type { Message } from './broker.js';

let lastMessage: Message | null = null;
let lastJson = '';

/** JSON.stringify(message), remembered for the most recent message (messages are never changed). */
export function messageJson(message: Message): string {
  if (message !== lastMessage) {
    lastJson = JSON.stringify(message);
    lastMessage = message;
  }
  return lastJson;
}
