// The request head's scan in C (http-head.c), built by npm's install step where the machine can.
// Without it request-head.ts parses every head in JavaScript, as it does any head the scan leaves.
import { loadAddon } from './addon.js';

/** What http-head.c exports. */
export interface HeadScanner {
  /**
   * The number of header lines, with the head's offsets in `out` (the layout is http-head.c's and
   * request-head.ts's), or -1 when the head is to be parsed in JavaScript.
   */
  scanHead(bytes: Uint8Array, out: Int32Array, maxHeadBytes: number): number;
}

/** http-head.c's scan, or null where it is not built. */
export function loadHeadScanner(): HeadScanner | null {
  const loaded = loadAddon<HeadScanner>('http_head');
  return 'calls' in loaded ? loaded.calls : null;
}
