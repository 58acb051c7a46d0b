/**
 * The few Kafka requests netspan's producer needs, at versions every broker
 * since Kafka 0.11 speaks (and librdkafka's mock cluster):
 *   Metadata v1 (key 3): brokers, and partition leaders of the topics asked for
 *     (the broker auto-creates topics when it is configured to)
 *   Produce v3 (key 0): RecordBatch v2 (record-batch.ts)
 * Request header v1: api_key int16, api_version int16, correlation_id int32,
 * client_id nullable string. Response header v0: correlation_id int32.
 */
import { ByteReader, type ByteWriter } from './bytes.js';

export const API_PRODUCE = 0;
export const API_METADATA = 3;

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
}

export interface PartitionInfo {
  partition: number;
  leader: number;
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  errorCode: number;
  partitions: PartitionInfo[];
}

export interface MetadataResponse {
  brokers: BrokerInfo[];
  topics: TopicInfo[];
}

export function writeMetadataRequest(w: ByteWriter, topics: readonly string[]): void {
  w.int32(topics.length);
  for (const t of topics) w.string(t);
}

export function readMetadataResponse(body: Buffer): MetadataResponse {
  const r = new ByteReader(body);
  const brokers = r.array((x) => {
    const nodeId = x.int32();
    const host = x.string();
    const port = x.int32();
    x.nullableString(); // rack
    return { nodeId, host, port };
  });
  r.int32(); // controller_id
  const topics = r.array((x) => {
    const errorCode = x.int16();
    const name = x.string();
    x.bool(); // is_internal
    const partitions = x.array((p) => {
      const errorCode = p.int16();
      const partition = p.int32();
      const leader = p.int32();
      p.array((q) => q.int32()); // replicas
      p.array((q) => q.int32()); // isr
      return { partition, leader, errorCode };
    });
    partitions.sort((a, b) => a.partition - b.partition);
    return { name, errorCode, partitions };
  });
  return { brokers, topics };
}

export interface ProducePartitionResult {
  topic: string;
  partition: number;
  errorCode: number;
}

export function readProduceResponse(body: Buffer): ProducePartitionResult[] {
  const r = new ByteReader(body);
  const out: ProducePartitionResult[] = [];
  r.array((x) => {
    const topic = x.string();
    x.array((p) => {
      const partition = p.int32();
      const errorCode = p.int16();
      p.int64(); // base_offset
      p.int64(); // log_append_time_ms
      out.push({ topic, partition, errorCode });
    });
  });
  return out;
}

/** Kafka error codes the producer meets, by name (for messages), and what retrying them can do. */
const ERRORS: Record<number, [string, 'transient' | 'too_large' | 'unknown_topic' | 'auth' | 'permanent']> = {
  [-1]: ['UNKNOWN_SERVER_ERROR', 'permanent'],
  2: ['CORRUPT_MESSAGE', 'transient'],
  3: ['UNKNOWN_TOPIC_OR_PARTITION', 'unknown_topic'],
  5: ['LEADER_NOT_AVAILABLE', 'transient'],
  6: ['NOT_LEADER_OR_FOLLOWER', 'transient'],
  7: ['REQUEST_TIMED_OUT', 'transient'],
  8: ['BROKER_NOT_AVAILABLE', 'transient'],
  9: ['REPLICA_NOT_AVAILABLE', 'transient'],
  10: ['MESSAGE_TOO_LARGE', 'too_large'],
  13: ['NETWORK_EXCEPTION', 'transient'],
  17: ['INVALID_TOPIC_EXCEPTION', 'unknown_topic'],
  18: ['RECORD_LIST_TOO_LARGE', 'too_large'],
  19: ['NOT_ENOUGH_REPLICAS', 'transient'],
  20: ['NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'transient'],
  21: ['INVALID_REQUIRED_ACKS', 'permanent'],
  29: ['TOPIC_AUTHORIZATION_FAILED', 'auth'],
  31: ['CLUSTER_AUTHORIZATION_FAILED', 'auth'],
  35: ['UNSUPPORTED_VERSION', 'permanent'],
  56: ['KAFKA_STORAGE_ERROR', 'transient'],
  74: ['FENCED_LEADER_EPOCH', 'transient'],
  75: ['UNKNOWN_LEADER_EPOCH', 'transient'],
  87: ['INVALID_RECORD', 'permanent'],
};

export function errorName(code: number): string {
  return ERRORS[code]?.[0] ?? `KAFKA_ERROR_${code}`;
}

export function errorKind(code: number): 'transient' | 'too_large' | 'unknown_topic' | 'auth' | 'permanent' {
  return ERRORS[code]?.[1] ?? 'permanent';
}

/**
 * Worth a metadata refresh and another try within the same send (leadership
 * moved, topic being created, the leader's log directory failed, the leader
 * lost its connection to the others): the errors the Java client refreshes
 * its metadata for (InvalidMetadataException) and the producer retries.
 */
export function refreshesMetadata(code: number): boolean {
  return code === 3 || code === 5 || code === 6 || code === 13 || code === 56 || code === 74 || code === 75;
}
