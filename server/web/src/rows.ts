// A table row: one matched event, in the shape the table shows and the
// resume store keeps (the value as compact JSON text, parsed again only when
// a row is expanded).
import type { GrepEvent } from "@grep-streams/sdk";

export interface Row {
  readonly id: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly key: readonly string[] | null;
  /** Compact JSON, or the text of a value that is not JSON. */
  readonly valueText: string;
  readonly isJson: boolean;
}

const decoder = new TextDecoder();

export function rowOf(e: GrepEvent): Row {
  const isJson = e.valueJson !== null;
  return {
    id: e.id,
    topic: e.topic,
    partition: e.partition,
    offset: e.offset,
    time: e.timestamp.getTime(),
    key: e.key ?? (e.rawKey ? [decoder.decode(e.rawKey)] : null),
    valueText: e.valueJson ?? decoder.decode(e.value as Uint8Array),
    isJson,
  };
}

/** The expanded view: the value pretty-printed. */
export function prettyValue(row: Row): string {
  if (!row.isJson) return row.valueText;
  try {
    return JSON.stringify(JSON.parse(row.valueText), null, 2);
  } catch {
    return row.valueText;
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Local time with milliseconds, and the day when it is not today: the console is read by people watching events arrive. */
export function timeText(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  return d.toDateString() === new Date(now).toDateString() ? time : `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

export function isRow(x: unknown): x is Row {
  const r = x as Row;
  return typeof r === "object" && r !== null && typeof r.id === "string" && typeof r.valueText === "string" && typeof r.time === "number";
}
