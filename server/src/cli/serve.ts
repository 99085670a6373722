// `grep-streams serve`: runs the server until SIGINT/SIGTERM, then shuts down
// gracefully (streams end, scans stop, the index is checkpointed).
import { parseServeArgs, SERVE_HELP, type ServerConfig } from "../config.js";
import { startApp } from "../app/app.js";
import { DEMO_TOPIC } from "../demo/feeder.js";
import { log } from "../util/log.js";

export async function serve(argv: string[]): Promise<number> {
  const config = parseServeArgs(argv);
  if (config === "help") {
    console.log(SERVE_HELP);
    return 0;
  }
  const app = await startApp(config, log);
  log.info("grep-streams is ready", { url: app.url, dataDir: config.dataDir, source: app.source.kind, demo: config.demo });
  if (process.stdout.isTTY || process.env.GREP_STREAMS_WELCOME === "1") console.log(welcome(app.url, config));
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info("shutting down", { signal });
      resolve();
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
  await app.close();
  log.info("stopped");
  return 0;
}

function welcome(url: string, config: ServerConfig): string {
  const server = url === "http://127.0.0.1:8080" ? "" : ` --server ${url}`;
  const demo = config.demo
    ? `The demo topic "${DEMO_TOPIC}" gets a few synthetic orders a second. Try, in another terminal:

  # big orders, as Server-Sent Events
  curl -N --get ${url}/v1/subscribe --data-urlencode topic=${DEMO_TOPIC} --data-urlencode 'q={"amount":{"$gt":300}}'

  # cancelled orders of tenant-3, as NDJSON, with the CLI
  npx grep-streams grep${server} --topic ${DEMO_TOPIC} --key tenant-3,'*' '{"type":"order.cancelled"}'

  # count refunds over everything so far
  npx grep-streams count${server} --topic ${DEMO_TOPIC} '{"type":"order.refunded"}'
`
    : `No demo feed (--no-demo). Produce something:

  echo '{"type":"hello","n":1}' | npx grep-streams produce${server} my-topic --key tenant-1,user-1
`;
  const consoleUrl = config.demo ? `${url}/?topic=${DEMO_TOPIC}&q=${encodeURIComponent('{"amount":{"$gt":300}}')}` : `${url}/`;
  return `
grep-streams listening on ${url}  (Connect, gRPC-Web and gRPC on one port; SSE at ${url}/v1/subscribe)
data directory: ${config.dataDir}

Open the console in a browser: ${consoleUrl}

${demo}`;
}
