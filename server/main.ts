// Process entry: read the config, set the event loop's scheduling hint and the young generation's
// helpers, start the node, stop it on SIGTERM/SIGINT. Nothing else.
import { ConfigError, describeConfig, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { setEventLoopSlice } from './native/scheduler.js';
import { startNode, type RunningNode } from './node.js';
import { applyParallelScavenge } from './young-generation.js';

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`sse-chat: ${error.message}\n`);
  process.exit(2);
}

const logger = createLogger(config.logLevel);
logger.info({ config: describeConfig(config) }, 'starting');
// Here, on the main thread: the slice is the calling thread's.
const slice = setEventLoopSlice(config.eventLoopSliceUs);
if (slice.kind === 'unavailable') logger.warn({ reason: slice.reason }, 'event loop slice not set');
else if (slice.kind === 'unsupported') logger.info({ reason: slice.reason }, 'event loop slice not set');
else logger.info({ slice }, 'event loop slice');
logger.info(applyParallelScavenge(config.parallelScavenge), 'parallel scavenge');
let node: RunningNode;
try {
  node = await startNode(config, logger);
} catch (error) {
  // One JSON line saying why (a port in use, an address it may not bind), not a stack trace
  // on stderr that a log pipeline would split into lines of its own.
  logger.fatal({ err: error, host: config.host, port: config.port }, 'could not start');
  process.exit(1);
}

let stopping = false;
function stop(signal: string): void {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  // Exit within the budget whatever happens; a hung close must not keep the process around.
  setTimeout(() => {
    logger.warn('shutdown deadline passed, exiting');
    process.exit(1);
  }, config!.shutdownTimeoutMs).unref();
  node.close().then(
    () => {
      logger.info('stopped');
      process.exit(0);
    },
    (error: unknown) => {
      logger.error({ err: error }, 'error while shutting down');
      process.exit(1);
    },
  );
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
// Said once the signals are handled: whoever waits for this line may stop the node right away.
logger.info({ url: node.url, node: config.nodeId, region: config.region, broker: node.broker.kind }, 'listening');
