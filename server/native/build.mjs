// npm's install step: builds scheduler.c, socket-writer.c, http-head.c and post-lane.c with node-gyp against the headers of the Node that runs
// it, so nothing is downloaded. Optional: wherever it cannot be built, the install goes on and the
// node runs without it (and says why at start).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// Always there, built or not, so that a Docker stage can copy it either way.
const release = join(here, 'build', 'Release');

function skip(reason) {
  try {
    mkdirSync(release, { recursive: true });
  } catch {
    // A read-only checkout: nothing to copy from it either.
  }
  console.warn(`sse-chat: the native parts (event loop slice, direct socket writes, request head scan, post lane) are not built (${reason}); the server runs without them`);
  process.exit(0);
}

if (process.platform !== 'linux') skip('it is for Linux only');
const nodeDir = dirname(dirname(process.execPath));
if (!existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) skip(`no Node headers under ${nodeDir}/include/node`);
// npm puts its own node-gyp on the PATH of install scripts; a compiler that hangs must not hang
// the install.
const built = spawnSync('node-gyp', ['rebuild', `--nodedir=${nodeDir}`, `--directory=${here}`], { stdio: 'inherit', timeout: 300_000 });
if (built.status !== 0) skip(built.error ? built.error.message : `node-gyp exited with ${built.status ?? built.signal}`);
