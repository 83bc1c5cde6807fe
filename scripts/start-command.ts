// The Node flags `npm start` runs the server with, read from package.json's start script, so that
// the bench, `npm run cluster:local` and the Docker image (checked by a test) run the server as
// `npm start` does and cannot drift from it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));
/** The server's entry, as the start script names it. */
export const SERVER_MAIN = 'dist/server/main.js';

/**
 * The flags between `node` and the entry in a start script such as `exec node --flag
 * dist/server/main.js`. `exec` is required: npm runs the script in `sh -c`, which (Debian's dash)
 * stays as node's parent, and npm passes a SIGTERM (docker stop, a supervisor) to the shell only;
 * the node went on serving after npm had gone. With `exec` the shell becomes the node.
 */
export function nodeFlagsOf(startScript: string): string[] {
  const words = startScript.trim().split(/\s+/);
  const entry = words.indexOf(SERVER_MAIN);
  if (words[0] !== 'exec' || words[1] !== 'node' || entry !== words.length - 1) {
    throw new Error(`the start script should be "exec node [flags] ${SERVER_MAIN}", not "${startScript}"`);
  }
  return words.slice(2, entry);
}

/** The Node flags of this checkout's `npm start`. */
export function startNodeFlags(): string[] {
  const manifest = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { scripts?: { start?: string } };
  return nodeFlagsOf(manifest.scripts?.start ?? '');
}
