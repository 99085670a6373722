// A minimal Server-Sent Events reader over node:http, parsing the wire
// format exactly as EventSource does (fields, blank-line dispatch, comments).
import http from "node:http";

export interface SseMessage {
  event: string;
  id: string | undefined;
  data: string;
}

export interface SseStream {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The body of a non-200 answer. */
  readonly body: string;
  next(): Promise<SseMessage>;
  /** The next message that is not a comment and has this event name. */
  nextEvent(event: string): Promise<SseMessage>;
  comments: string[];
  close(): void;
}

export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: "text/event-stream", ...headers } }, (res) => {
      res.setEncoding("utf8");
      if (res.statusCode !== 200) {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body, next: () => Promise.reject(new Error("no stream")), nextEvent: () => Promise.reject(new Error("no stream")), comments: [], close: () => {} }));
        return;
      }
      let buffer = "";
      const queue: SseMessage[] = [];
      const waiters: Array<(m: SseMessage | null) => void> = [];
      const comments: string[] = [];
      let ended = false;
      let cur: SseMessage = { event: "message", id: undefined, data: "" };
      let hasData = false;
      const dispatch = (m: SseMessage | null) => {
        const w = waiters.shift();
        if (w) w(m);
        else if (m) queue.push(m);
      };
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let i;
        while ((i = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, i).replace(/\r$/, "");
          buffer = buffer.slice(i + 1);
          if (line === "") {
            if (hasData) dispatch({ ...cur, data: cur.data.replace(/\n$/, "") });
            cur = { event: "message", id: cur.id, data: "" };
            hasData = false;
          } else if (line.startsWith(":")) {
            comments.push(line.slice(1).trim());
          } else {
            const c = line.indexOf(":");
            const field = c < 0 ? line : line.slice(0, c);
            const value = c < 0 ? "" : line.slice(c + 1).replace(/^ /, "");
            if (field === "event") cur.event = value;
            else if (field === "id") cur.id = value;
            else if (field === "data") {
              cur.data += value + "\n";
              hasData = true;
            }
          }
        }
      });
      res.on("end", () => {
        ended = true;
        while (waiters.length) waiters.shift()!(null);
      });
      const next = () =>
        new Promise<SseMessage>((res2, rej) => {
          const m = queue.shift();
          if (m) return res2(m);
          if (ended) return rej(new Error("SSE stream ended"));
          waiters.push((x) => (x ? res2(x) : rej(new Error("SSE stream ended"))));
        });
      resolve({
        status: 200,
        headers: res.headers,
        body: "",
        next,
        nextEvent: async (event) => {
          for (;;) {
            const m = await next();
            if (m.event === event) return m;
          }
        },
        comments,
        close: () => req.destroy(),
      });
    });
    req.on("error", reject);
  });
}
