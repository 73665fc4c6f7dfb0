// The one rule for "this batch is federated-learning messages only", used by the coordinator (its
// replay state may be written behind, coordinator.ts) and the ingest link (its commit need not wait
// for group-commit spacing, main/app/wiring-swarm.ts). One home so the two cannot drift apart.
import type { MessageKind } from './envelope';

/** The MQTT topic suffix fl messages are published under (axis/<SERIAL>/omnisight/fl). */
export const FL_TOPIC_SUFFIX = '/omnisight/fl';

/**
 * What is known of a message when the rule is applied: its MQTT topic (when it came over MQTT) and,
 * once parsed, its envelope kind (`null`: it did not parse).
 */
export interface FlEvidence {
  topic?: string | undefined;
  kind?: MessageKind | null | undefined;
}

/**
 * A message claims fl when everything known of it says fl: a topic (if known) under the fl suffix
 * and a kind (if parsed) of 'fl'; a message known by neither, or that did not parse, does not.
 * A claim only: a message whose signature then fails is refused and advances nothing.
 */
export function claimsFl({ topic, kind }: FlEvidence): boolean {
  if (kind === null) return false;
  if (topic !== undefined && !topic.endsWith(FL_TOPIC_SUFFIX)) return false;
  if (kind !== undefined && kind !== 'fl') return false;
  return topic !== undefined || kind !== undefined;
}

/** A non-empty batch whose every message claims fl. */
export function isFlOnlyBatch(messages: readonly FlEvidence[]): boolean {
  return messages.length > 0 && messages.every(claimsFl);
}
