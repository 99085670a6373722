// The CLI's connection to a server: the Connect protocol over HTTP/1.1, so
// it goes through the same proxies a browser does.
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { GrepService } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";

export const DEFAULT_SERVER = "http://127.0.0.1:8080";

export function serverUrl(flag: string | undefined): string {
  return flag ?? process.env.GREP_STREAMS_SERVER ?? DEFAULT_SERVER;
}

export function grepClient(baseUrl: string): Client<typeof GrepService> {
  return createClient(GrepService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
}
