// npm's install step: builds the event loop's scheduling hint (scheduler.c) with node-gyp, against
// the headers of the Node that runs it, so nothing is downloaded. The hint is optional: where it
// cannot be built (not Linux, no C compiler, no python3 for node-gyp) the server runs without it
// and says so at start; the install goes on either way.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// Always there, built or not, so that a Docker stage can copy it either way.
const release = join(here, 'build', 'Release');

function skip(reason) {
  mkdirSync(release, { recursive: true });
  console.warn(`sse-chat: the event loop's scheduling hint is not built (${reason}); the server runs without it`);
  process.exit(0);
}

if (process.platform !== 'linux') skip('it is for Linux only');
const nodeDir = dirname(dirname(process.execPath));
if (!existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) skip(`no Node headers under ${nodeDir}/include/node`);
const built = spawnSync('node-gyp', ['rebuild', `--nodedir=${nodeDir}`, `--directory=${here}`], { stdio: 'inherit' });
if (built.status !== 0) skip(built.error ? built.error.message : `node-gyp exited with ${built.status ?? built.signal}`);
