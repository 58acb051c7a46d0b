/**
 * `make(o)` once per frozen (shared, never changed) object `o`, kept in
 * `cache` (weak: it goes with the object); for any other object, made anew.
 * What encoders derive from shared attributes (their JSON, their OTLP
 * resource) is derived once this way. `make` gets `o`, so callers pass a
 * function made once, not a closure per event (a closure and its context
 * were ~200 bytes per event in the OTLP logs path).
 */
export function derivedOnce<O extends object, T>(cache: WeakMap<O, T>, o: O, make: (o: O) => T): T {
  if (!Object.isFrozen(o)) return make(o);
  let v = cache.get(o);
  if (v === undefined) {
    v = make(o);
    cache.set(o, v);
  }
  return v;
}
