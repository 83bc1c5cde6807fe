// Loads one of the parts build.mjs compiles at install, from the build's output beside the
// sources. Each part is optional: where it was not built the node runs without it and says why.
import { createRequire } from 'node:module';

/** The addon's exports, or why there are none here. */
export function loadAddon<Calls>(name: 'scheduler' | 'socket_writer' | 'http_head' | 'post_lane'): { calls: Calls } | { reason: string } {
  if (process.platform !== 'linux') return { reason: 'not Linux' };
  try {
    // From dist/server/native/ to server/native/build/Release/.
    return { calls: createRequire(import.meta.url)(`../../../server/native/build/Release/${name}.node`) as Calls };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      return { reason: 'not built: npm install builds it where python3, make and a C compiler are installed' };
    }
    return { reason: `not loadable: ${(error as Error).message}` };
  }
}
