// What the matcher needs to know of a stream: its index record (for the head
// frontier) and its compiled filter.
import type { CompiledFilter } from "../filter/index.js";
import type { StreamRecord } from "../sequencer/types.js";

export interface MatcherStream {
  readonly record: StreamRecord;
  readonly filter: CompiledFilter;
}

/** Per-topic counts of messages the matcher could not parse. */
export interface SkipCounts {
  nonJson: number;
  badKey: number;
}
