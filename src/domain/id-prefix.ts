/** The ids that start with a prefix, as a range an index reads: `from <= id < below` (below null: no end). */
export interface IdRange {
  from: string;
  below: string | null;
}

const MAX_CODE_POINT = 0x10ffff;
const LAST_BEFORE_SURROGATES = 0xd7ff;
const FIRST_AFTER_SURROGATES = 0xe000;

/**
 * SQLite compares text by its UTF-8 bytes, which order as code points do, so the first string
 * after every one starting with `prefix` is the prefix with its last code point raised by one
 * (trailing U+10FFFF cannot be raised and is dropped; surrogates, never in a well-formed id, are
 * skipped). Nothing in the prefix is a pattern: `%`, `_` and `\` are characters like any other.
 */
export function idPrefixRange(prefix: string): IdRange {
  const points = Array.from(prefix, (ch) => ch.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last < MAX_CODE_POINT) {
      const next = last === LAST_BEFORE_SURROGATES ? FIRST_AFTER_SURROGATES : last + 1;
      return { from: prefix, below: String.fromCodePoint(...points, next) };
    }
  }
  return { from: prefix, below: null };
}
