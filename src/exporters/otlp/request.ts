/**
 * OTLP export requests assembled from records already encoded
 * (logs-proto.ts, spans-proto.ts). ExportLogsServiceRequest and
 * ExportTraceServiceRequest have the same shape: field 1 repeated
 * ResourceLogs/ResourceSpans {1 resource, 2 repeated ScopeLogs/ScopeSpans
 * {1 scope, 2 repeated records, 3 schema_url}, 3 schema_url}. Records are
 * grouped by resource and scope exactly as the SDK's serializers group
 * theirs: resources in order of first record, by Resource identity
 * (ResourceCache hands out one instance per pod).
 */
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ChunkPool } from './chunk-pool.js';
import { LEN, ProtoWriter, tag, VARINT, varintSize } from './proto-writer.js';

/**
 * One encoded record and the resource it belongs to: bytes [start, end) of
 * `chunk` (shared by the records of one batch) are the record as it appears
 * in a request, its field tag and length included, so consecutive records of
 * one resource are copied into a request in one go.
 */
export interface EncodedRecord {
  readonly resource: Resource;
  readonly chunk: Buffer;
  readonly start: number;
  readonly end: number;
}

const RESOURCE_RECORDS = tag(1, LEN);
const RR_RESOURCE = tag(1, LEN);
const RR_SCOPE_RECORDS = tag(2, LEN);
const RR_SCHEMA_URL = tag(3, LEN);
const SR_SCOPE = tag(1, LEN);
const SR_SCHEMA_URL = tag(3, LEN);

/**
 * The records of one batch written one after the other into one buffer
 * (taken from `pool` when it has one), with where each ends and its
 * resource: what LogEncoder and SpanEncoder share.
 */
export class RecordBuffer {
  readonly w = new ProtoWriter(256 * 1024);
  private resources: Resource[] = [];
  private ends: number[] = [];

  constructor(private readonly pool?: ChunkPool) {}

  reset(): void {
    this.w.pos = 0;
    this.resources = [];
    this.ends = [];
  }

  /** The record written since the previous one belongs to `resource`. */
  end(resource: Resource): void {
    this.resources.push(resource);
    this.ends.push(this.w.pos);
  }

  /** The records since reset(), in one buffer (the writer's; it goes on with another). */
  finish(): EncodedRecord[] {
    // nothing written (every event of a batch held by the stitcher): keep the buffer
    if (this.ends.length === 0) return [];
    const chunk = this.w.detach(this.pool?.take(this.w.buf.length));
    const out: EncodedRecord[] = new Array<EncodedRecord>(this.ends.length);
    let start = 0;
    for (let i = 0; i < this.ends.length; i++) {
      const end = this.ends[i]!;
      out[i] = { resource: this.resources[i]!, chunk, start, end };
      start = end;
    }
    this.resources = [];
    this.ends = [];
    return out;
  }
}

interface Plan {
  resource: Buffer;
  resourceSchema?: Buffer;
  records: EncodedRecord[];
  scopeRecords: number;
  rr: number;
}

/** Export requests from encoded records; caches each resource's and the scope's message bytes. */
export class RequestAssembler {
  private readonly resourceCache = new WeakMap<Resource, Buffer>();
  private readonly scopeBytes: Buffer;
  private readonly scopeSchema: Buffer | undefined;

  constructor(private readonly scope: InstrumentationScope) {
    const w = new ProtoWriter(256);
    w.byte(tag(1, LEN));
    w.string(scope.name);
    if (scope.version) {
      w.byte(tag(2, LEN));
      w.string(scope.version);
    }
    this.scopeBytes = w.copy();
    this.scopeSchema = scope.schemaUrl ? Buffer.from(scope.schemaUrl, 'utf8') : undefined;
  }

  /** The Resource message's content: attributes, dropped_attributes_count 0 (as the SDK writes it). */
  resourceBytes(r: Resource): Buffer {
    let b = this.resourceCache.get(r);
    if (b === undefined) {
      const w = new ProtoWriter(1024);
      w.attributes(r.attributes, 1);
      w.byte(tag(2, VARINT));
      w.byte(0);
      b = w.copy();
      this.resourceCache.set(r, b);
    }
    return b;
  }

  /** Bytes of the request carrying `records`, in a buffer of their own. */
  assemble(records: readonly EncodedRecord[]): Buffer {
    const { plans, total } = this.plan(records);
    const w = new ProtoWriter(Math.max(total, 16));
    this.write(w, plans);
    return w.buf.subarray(0, w.pos);
  }

  /**
   * Bytes of the request carrying `records`, written into `w` from its start:
   * a view of w's buffer, valid until w is written again.
   */
  assembleInto(w: ProtoWriter, records: readonly EncodedRecord[]): Buffer {
    const { plans, total } = this.plan(records);
    w.pos = 0;
    w.ensure(total);
    this.write(w, plans);
    return w.buf.subarray(0, w.pos);
  }

  /** Sizes first (lengths precede contents). */
  private plan(records: readonly EncodedRecord[]): { plans: Plan[]; total: number } {
    const scope = this.scopeBytes;
    const schemaUrl = this.scopeSchema;
    const plans: Plan[] = [];
    let total = 0;
    for (const [resource, recs] of groupByResource(records)) {
      let scopeRecords = 1 + varintSize(scope.length) + scope.length;
      for (const r of recs) scopeRecords += r.end - r.start;
      if (schemaUrl) scopeRecords += 1 + varintSize(schemaUrl.length) + schemaUrl.length;
      const res = this.resourceBytes(resource);
      const resourceSchema = resource.schemaUrl ? Buffer.from(resource.schemaUrl, 'utf8') : undefined;
      let rr = 1 + varintSize(res.length) + res.length + 1 + varintSize(scopeRecords) + scopeRecords;
      if (resourceSchema) rr += 1 + varintSize(resourceSchema.length) + resourceSchema.length;
      total += 1 + varintSize(rr) + rr;
      plans.push({ resource: res, ...(resourceSchema ? { resourceSchema } : {}), records: recs, scopeRecords, rr });
    }
    return { plans, total };
  }

  private write(w: ProtoWriter, plans: readonly Plan[]): void {
    const bytesField = (t: number, b: Uint8Array): void => {
      w.byte(t);
      w.varint(b.length);
      w.raw(b);
    };
    for (const p of plans) {
      w.byte(RESOURCE_RECORDS);
      w.varint(p.rr);
      bytesField(RR_RESOURCE, p.resource);
      w.byte(RR_SCOPE_RECORDS);
      w.varint(p.scopeRecords);
      bytesField(SR_SCOPE, this.scopeBytes);
      copyRecords(w, p.records);
      if (this.scopeSchema) bytesField(SR_SCHEMA_URL, this.scopeSchema);
      if (p.resourceSchema) bytesField(RR_SCHEMA_URL, p.resourceSchema);
    }
  }

  /** What `record` adds to a request, not counting its resource's share (see resourceOverhead). */
  static recordSize(record: EncodedRecord): number {
    return record.end - record.start;
  }

  /** An upper bound of what the first record of a resource adds to a request beyond recordSize(). */
  resourceOverhead(resource: Resource): number {
    const res = this.resourceBytes(resource);
    const schema = (resource.schemaUrl?.length ?? 0) * 3 + (this.scope.schemaUrl?.length ?? 0) * 3;
    return 3 * 6 + res.length + this.scopeBytes.length + schema;
  }

  /**
   * `records` in runs for requests of at most `max` bytes, in order (a record
   * larger than that alone still goes alone).
   */
  split<T extends EncodedRecord>(records: readonly T[], max: number): T[][] {
    const chunks: T[][] = [];
    let chunk: T[] = [];
    let size = 0;
    let seen = new Set<Resource>();
    for (const r of records) {
      let add = RequestAssembler.recordSize(r);
      if (!seen.has(r.resource)) add += this.resourceOverhead(r.resource);
      if (chunk.length > 0 && size + add > max) {
        chunks.push(chunk);
        chunk = [];
        seen = new Set<Resource>();
        add = RequestAssembler.recordSize(r) + this.resourceOverhead(r.resource);
        size = 0;
      }
      seen.add(r.resource);
      chunk.push(r);
      size += add;
    }
    if (chunk.length) chunks.push(chunk);
    return chunks;
  }
}

/** Records by resource (Resource identity), resources in order of their first record. */
function groupByResource(records: readonly EncodedRecord[]): Map<Resource, EncodedRecord[]> {
  const groups = new Map<Resource, EncodedRecord[]>();
  let last: Resource | undefined;
  let group: EncodedRecord[] = [];
  for (const r of records) {
    if (r.resource !== last) {
      last = r.resource;
      const g = groups.get(last);
      if (g) group = g;
      else groups.set(last, (group = []));
    }
    group.push(r);
  }
  return groups;
}

/** The records' bytes, each run of records adjacent in one chunk copied at once (a batch of one pod is one copy). */
function copyRecords(w: ProtoWriter, records: readonly EncodedRecord[]): void {
  let i = 0;
  while (i < records.length) {
    const first = records[i]!;
    let end = first.end;
    for (i++; i < records.length && records[i]!.chunk === first.chunk && records[i]!.start === end; i++)
      end = records[i]!.end;
    w.ensure(end - first.start);
    w.pos += first.chunk.copy(w.buf, w.pos, first.start, end);
  }
}
