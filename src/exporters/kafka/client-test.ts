/**
 * Test helper: registers a Kafka test once per client (config `client`),
 * named "[netspan] …" and "[kafkajs] …".
 */
import { test } from 'node:test';

export const CLIENTS = ['netspan', 'kafkajs'] as const;
export type Client = (typeof CLIENTS)[number];

export function clientTest(name: string, opts: { timeout: number }, fn: (client: Client) => Promise<void>): void {
  for (const client of CLIENTS) void test(`[${client}] ${name}`, opts, () => fn(client));
}
