/**
 * The JSON form of each event type (what encode.ts writes), as zod schemas.
 * `npm run schemas` writes them as JSON Schema files to schema/events/;
 * a test checks that those files are current and that real encoded events
 * validate against these schemas.
 */
import { z } from 'zod';
import { RETRANSMIT_KINDS, SCHEMA_VERSION, type EventType } from './event.js';

const attrValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);

const base = {
  schema_version: z.literal(SCHEMA_VERSION).describe('Version of this schema; bumped on incompatible changes'),
  time: z.string().describe('Event time (start time for events with a duration), RFC 3339 UTC with nanoseconds'),
  time_unix_nano: z
    .string()
    .regex(/^\d+$/)
    .describe('Event time in nanoseconds since the Unix epoch, as a decimal string'),
  pid: z.int().min(0).describe('Process (thread group) id the kernel attributed the event to; 0 for kernel context'),
  tid: z.int().min(0).describe('Thread id'),
  comm: z.string().describe('Task command name (at most 15 bytes); non-UTF-8 bytes become U+FFFD'),
  cgroup_id: z.int().min(0).describe('cgroup v2 id (inode of the cgroup directory); 0 when unknown'),
};

/** Last in every event (the key order here is the order encode.ts writes). */
const enrichment = {
  attributes: z
    .record(z.string(), attrValue)
    .optional()
    .describe(
      'Enrichment: OpenTelemetry semantic-convention attributes (k8s.*, container.id, process.*, server.address, ...)',
    ),
};

const family = z.enum(['ipv4', 'ipv6']).describe('Address family');
const port = z.int().min(0).max(65535);
const conn = {
  family,
  saddr: z.string().describe('Local address'),
  sport: port.describe('Local port'),
  daddr: z.string().describe('Remote (peer) address'),
  dport: port.describe('Remote (peer) port'),
};

export const eventJsonSchemas: Record<EventType, z.ZodObject> = {
  soconnect: z.strictObject({
    type: z.literal('soconnect'),
    ...base,
    ...conn,
    result: z.string().describe('"ESTABLISHED", or the errno name: ECONNREFUSED, ETIMEDOUT, ENETUNREACH, ...'),
    latency_ns: z
      .int()
      .min(0)
      .describe('connect(2) entry to handshake completion (non-blocking) or syscall return (blocking), ns'),
    non_blocking: z
      .boolean()
      .describe('connect(2) returned EINPROGRESS; the result came from the socket leaving SYN_SENT'),
    ...enrichment,
  }),
  udpconnect: z.strictObject({
    type: z.literal('udpconnect'),
    ...base,
    ...conn,
    result: z.string().describe('"OK" or the errno name'),
    latency_ns: z.int().min(0).describe('connect(2) duration, ns'),
    ...enrichment,
  }),
  tcpretrans: z.strictObject({
    type: z.literal('tcpretrans'),
    ...base,
    ...conn,
    state: z.string().describe('TCP state at retransmit time: SYN_SENT, ESTABLISHED, ...'),
    kind: z
      .enum(RETRANSMIT_KINDS)
      .describe(
        'why the kernel retransmitted: rto (the retransmission timer fired, SYNs included), loss (resent in the Loss state without the timer: on an ACK after an RTO, or after a path MTU reduction), fast (fast retransmit: SACK/dupack/RACK loss detection), tlp (tail loss probe), synack (a listener resending its SYN-ACK), other',
      ),
    ...enrichment,
  }),
  gethostlatency: z.strictObject({
    type: z.literal('gethostlatency'),
    ...base,
    func: z.enum(['getaddrinfo', 'gethostbyname', 'gethostbyname2']).describe('libc resolver function'),
    host: z
      .string()
      .describe('Name looked up; empty when the probe lost the line that carries it (the lookup is still reported)'),
    latency_ns: z.int().min(0).describe('Call duration, ns'),
    result: z
      .string()
      .describe(
        '"OK" or the error: EAI_NONAME, EAI_AGAIN, ... (getaddrinfo), HOST_NOT_FOUND-style names (gethostbyname*)',
      ),
    addresses: z.array(z.string()).describe('Resolved addresses, deduplicated, resolver order'),
    ...enrichment,
  }),
  skbdrop: z.strictObject({
    type: z.literal('skbdrop'),
    ...base,
    reason: z.string().describe('Kernel drop reason name without SKB_DROP_REASON_: NO_SOCKET, NETFILTER_DROP, ...'),
    protocol: z.string().describe('Ethertype: IPv4, IPv6, ARP, or 0x.... hex'),
    location: z.string().describe('Kernel function that freed the packet, symbol+offset'),
    stack: z.array(z.string()).describe('Kernel stack, innermost first'),
    family: family.optional(),
    saddr: z.string().optional().describe('Packet source address (from its IP header)'),
    daddr: z.string().optional().describe('Packet destination address'),
    l4_protocol: z.string().optional().describe('IP protocol: TCP, UDP, ICMP, ...'),
    sport: port.optional().describe('Source port (TCP/UDP)'),
    dport: port.optional().describe('Destination port (TCP/UDP)'),
    ...enrichment,
  }),
};

export function jsonSchemaDocument(type: EventType): Record<string, unknown> {
  return {
    $id: `urn:netspan:schema:events:${type}:v${SCHEMA_VERSION}`,
    title: `netspan ${type} event, schema version ${SCHEMA_VERSION}`,
    ...z.toJSONSchema(eventJsonSchemas[type], { target: 'draft-2020-12' }),
  };
}
