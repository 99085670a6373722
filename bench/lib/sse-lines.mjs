// Server-sent events as the benchmarks read them: a handler for a response's
// text chunks that calls onLine(event, field, value) for each `id:` and
// `data:` line, with the `event:` that precedes it. (Enough for the server's
// own framing: one field per line, `\n` line ends.)
export function sseLines(onLine) {
  let buf = "";
  let event = "";
  return (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) onLine(event, "data", line.slice(6));
      else if (line.startsWith("id: ")) onLine(event, "id", line.slice(4));
    }
  };
}
