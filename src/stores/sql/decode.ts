// The few column types SQLite and Postgres hand back differently. Everything else in a row is the
// same in both drivers, so the row types and mappers in this folder are shared and each adapter
// passes its own conversions.

export interface RowDecode<Json, Bool> {
  /** A JSON or array column: SQLite returns JSON text, Postgres returns it already parsed. */
  json: (v: Json) => unknown;
  /** A boolean column: SQLite stores 0/1 integers, Postgres returns booleans. */
  bool: (v: Bool) => boolean;
}

/** How a driver takes the values SQLite and Postgres bind differently. */
export interface ParamEncode {
  /** SQLite binds 0/1 (it has no boolean type), Postgres binds the boolean. */
  bool: (v: boolean) => unknown;
}
