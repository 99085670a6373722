// The one error type of the filter module. Its message starts with where the
// problem is (a protobuf field name, then a path inside it) and says what is
// wrong, e.g. `query.$and[1].price: operator $where is not allowed ...`.

/** The protobuf field names of grepstreams.v1.Filter. */
export type FilterField = "topics" | "topic_regex" | "key_prefix" | "key_regex" | "query" | "projection";

export class FilterError extends Error {
  /** The protobuf field the problem is in. */
  readonly field: FilterField;
  /** Where inside the field, e.g. `query.$and[1].price` (starts with `field`). */
  readonly location: string;

  constructor(field: FilterField, location: string, problem: string) {
    super(`${location}: ${problem}`);
    this.name = "FilterError";
    this.field = field;
    this.location = location;
  }
}
