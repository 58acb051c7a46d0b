/** Message types from the official opentelemetry-proto files (shipped by @elastic/mockotlpserver), for decoding in tests. */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

export function protoType(file: string, name: string): protobuf.Type {
  const require = createRequire(import.meta.url);
  const root = new protobuf.Root();
  const dir = dirname(require.resolve('@elastic/mockotlpserver/package.json'));
  root.resolvePath = (_origin, target) => join(dir, target);
  root.loadSync(file);
  return root.lookupType(name);
}

/** A decoded message as a plain object (64-bit integers and bytes as strings), to compare two encodings. */
export function decoded(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(bytes), { longs: String, bytes: String, defaults: true });
}
