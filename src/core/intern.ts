/**
 * One shared instance per distinct value of a repetitive field (comm, kernel
 * stack frames, drop locations): the parser looks the fresh text up while the
 * line is still in the CPU cache and keeps the canonical string instead.
 * Events then hold old, hashed strings that later stages (the JSON writer's
 * encoded-value cache) find in one lookup, and retain no slice of the line
 * (a slice keeps its whole 64 KiB read chunk alive). Bounded: when `max`
 * values are held the table starts over (hostile, ever-new values cost one
 * lookup each and never grow it).
 */
export class Interner {
  private table = new Map<string, string>();

  /**
   * `derive`: intern a transform of the text instead (a trimmed line), still
   * looked up by the raw text, so the transform runs, and allocates, once per
   * distinct value.
   */
  constructor(
    private readonly max = 4096,
    private readonly derive?: (text: string) => string,
  ) {}

  get size(): number {
    return this.table.size;
  }

  get(text: string): string {
    const s = this.table.get(text);
    if (s !== undefined) return s;
    if (this.table.size >= this.max) this.table = new Map();
    // flat copies: the table must not keep the line it was sliced from
    const key = flat(text);
    const value = this.derive === undefined ? key : flat(this.derive(text));
    this.table.set(key, value);
    return value;
  }
}

/** A copy of `text` that shares no memory with the string it was sliced from. */
function flat(text: string): string {
  // A slice shorter than 13 characters is already a copy in V8; longer ones are
  // views of their parent. Slicing a concatenation flattens it into a new string
  // first, so the result is a view of that small copy only.
  return text.length < 13 ? text : (' ' + text).slice(1);
}
