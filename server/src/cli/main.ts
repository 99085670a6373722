// The grep-streams command line: serve, produce, grep, count, topics.
import { Code, ConnectError } from "@connectrpc/connect";
import { ConfigError } from "../config.js";

const HELP = `grep-streams: grep(1) for event streams

Usage: grep-streams COMMAND [options]
  serve      run the server (embedded log by default)
  produce    append JSON messages to a topic
  grep       print matching events as NDJSON (follows the stream)
  count      count matches over history, with progress
  topics     list topics
Run grep-streams COMMAND --help for a command's options.`;

type Command = (argv: string[]) => Promise<number>;

// Loaded on use: `serve` pulls in the whole server (SQLite, the Kafka client,
// mingo), which would make every client command start about ten times slower.
const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./serve.js")).serve,
  produce: async () => (await import("./produce.js")).produce,
  grep: async () => (await import("./grep.js")).grep,
  count: async () => (await import("./count.js")).count,
  topics: async () => (await import("./topics.js")).topics,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(HELP);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`grep-streams: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  const command = await load();
  try {
    return await command(rest);
  } catch (err) {
    if (err instanceof ConnectError) {
      console.error(`grep-streams ${name}: ${err.code === Code.Unavailable ? `cannot reach the server (${err.rawMessage}); is it running? start one with: grep-streams serve` : err.rawMessage} [${codeName(err.code)}]`);
      return 1;
    }
    if (err instanceof ConfigError || (err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS"))) {
      console.error(`grep-streams ${name}: ${err.message}`);
      return 2;
    }
    if (err instanceof Error && err.message.startsWith("--")) {
      console.error(`grep-streams ${name}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

function codeName(code: number): string {
  return ["ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists", "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated"][code] ?? String(code);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
