/**
 * The records of one export, per topic and partition, written in place
 * (record-batch.ts PartitionRecords) and kept for the next export: the
 * exporter picks a record's partition from its key bytes, writes the record,
 * and hands the batch to NetspanProducer.sendBatch().
 */
import { murmur2 } from '../partitioner.js';
import { PartitionRecords } from './record-batch.js';
import type { TopicInfo } from './protocol.js';

/** One topic's partitions as the cluster metadata gave them, and their records. */
export class TopicRecords {
  private parts: (PartitionRecords | undefined)[] = [];
  private info: TopicInfo | undefined;
  /** Indexes of the partitions that have a leader (all of them when none has): where records without a key go. */
  private available: number[] = [];
  private roundRobin = Math.floor(Math.random() * 1024);

  constructor(readonly name: string) {}

  /** The topic's partitions from fresh metadata. */
  setMetadata(info: TopicInfo): void {
    if (this.info?.partitions.length !== info.partitions.length) {
      // partitions added: records already placed keep their partition (as a retried Java batch does)
      const old = this.parts.filter((p): p is PartitionRecords => p !== undefined && p.count > 0);
      this.parts = info.partitions.map((p) => old.find((o) => o.partition === p.partition));
    }
    if (info !== this.info) {
      // like kafkajs and the Java client: no records without a key for a partition that is offline
      this.available = [];
      info.partitions.forEach((p, i) => {
        if (p.leader >= 0) this.available.push(i);
      });
      if (this.available.length === 0) this.available = info.partitions.map((_, i) => i);
    }
    this.info = info;
  }

  get known(): boolean {
    return this.info !== undefined;
  }

  /**
   * Where a record with the key bytes [0, keyLen) of `key` goes (keyLen -1:
   * no key): murmur2 of the key modulo the partition count like the Java
   * client (whether or not that partition has a leader), round-robin over
   * the partitions with a leader without a key. Needs setMetadata() first.
   */
  partitionFor(key: Uint8Array, keyLen: number): PartitionRecords {
    const partitions = this.info!.partitions;
    let i: number;
    if (keyLen >= 0) i = (murmur2(key, keyLen) & 0x7fffffff) % partitions.length;
    else {
      const available = this.available;
      this.roundRobin = (this.roundRobin + 1) % available.length;
      i = available[this.roundRobin]!;
    }
    return (this.parts[i] ??= new PartitionRecords(this.name, partitions[i]!.partition));
  }

  /** Partitions holding records. */
  filled(out: PartitionRecords[]): void {
    for (const p of this.parts) if (p !== undefined && p.count > 0) out.push(p);
  }

  reset(): void {
    for (const p of this.parts) p?.reset();
  }
}

/** Topic → its records, for every topic an exporter writes to (a handful; bounded all the same). */
export class ProduceBatch {
  private readonly topics = new Map<string, TopicRecords>();
  /** Bytes of the records written since reset() (for max_batch_bytes). */
  bytes = 0;

  topic(name: string): TopicRecords {
    let t = this.topics.get(name);
    if (t === undefined) {
      if (this.topics.size >= 1_000) this.topics.clear();
      this.topics.set(name, (t = new TopicRecords(name)));
    }
    return t;
  }

  /** Every partition that holds records. */
  filled(): PartitionRecords[] {
    const out: PartitionRecords[] = [];
    for (const t of this.topics.values()) t.filled(out);
    return out;
  }

  /** Empties every partition's records; buffers are kept. */
  reset(): void {
    for (const t of this.topics.values()) t.reset();
    this.bytes = 0;
  }
}
