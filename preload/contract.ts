// The one definition of what the renderer (and any other client of the dispatcher) may ask and what
// it is told. Each capability keeps its part in preload/contract/<capability>.ts; this file joins
// them. Imports nothing from Node or the DOM (lint enforces it).
import type { z } from 'zod';
import { agentsEvents, agentsMethods } from './contract/agents';
import { appEvents, appMethods } from './contract/app';
import { roomsEvents, roomsMethods } from './contract/rooms';
import { assistEvents, assistMethods } from './contract/assist';
import { auditEvents, auditMethods } from './contract/audit';
import { perfEvents, perfMethods } from './contract/perf';
import { swarmEvents, swarmMethods } from './contract/swarm';
import { federatedEvents, federatedMethods } from './contract/federated';
import { fleetEvents, fleetMethods } from './contract/fleet';
import { deployEvents, deployMethods } from './contract/deploy';
import { settingsEvents, settingsMethods } from './contract/settings';
import { timelineEvents, timelineMethods } from './contract/timeline';
import { reviewEvents, reviewMethods } from './contract/review';

export * from './contract/define';
export * from './contract/camera-id';
export * from './contract/agents';
export * from './contract/bridge';
export * from './contract/app';
export * from './contract/rooms';
export * from './contract/assist';
export * from './contract/audit';
export * from './contract/perf';
export * from './contract/swarm';
export * from './contract/federated';
export * from './contract/fleet';
export * from './contract/deploy';
export * from './contract/settings';
export * from './contract/timeline';
export * from './contract/review';

export const methods = {
  ...timelineMethods,
  ...appMethods,
  ...settingsMethods,
  ...auditMethods,
  ...swarmMethods,
  ...perfMethods,
  ...federatedMethods,
  ...fleetMethods,
  ...deployMethods,
  ...assistMethods,
  ...roomsMethods,
  ...agentsMethods,
  ...reviewMethods,
} as const;

export const events = {
  ...timelineEvents,
  ...appEvents,
  ...settingsEvents,
  ...auditEvents,
  ...swarmEvents,
  ...perfEvents,
  ...federatedEvents,
  ...fleetEvents,
  ...deployEvents,
  ...assistEvents,
  ...roomsEvents,
  ...agentsEvents,
  ...reviewEvents,
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
/** What a caller sends (defaults may be left out). */
export type MethodInput<M extends MethodName> = z.input<Methods[M]['input']>;
/** What a handler receives, after validation and defaults. */
export type MethodArgs<M extends MethodName> = z.output<Methods[M]['input']>;
export type MethodOutput<M extends MethodName> = z.output<Methods[M]['output']>;

export type Events = typeof events;
export type EventTopic = keyof Events;
export type EventPayload<T extends EventTopic> = z.output<Events[T]['payload']>;

export const methodNames = Object.keys(methods) as MethodName[];
export const eventTopics = Object.keys(events) as EventTopic[];

export const isMethodName = (name: unknown): name is MethodName =>
  typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name);
export const isEventTopic = (name: unknown): name is EventTopic =>
  typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name);
