// The one definition of what the renderer (and any other client of the dispatcher) may ask and what
// it is told. Each capability keeps its part in preload/contract/<capability>.ts; this file joins
// them. Imports nothing from Node or the DOM (lint enforces it).
import type { z } from 'zod';
import { appEvents, appMethods } from './contract/app';
import { auditEvents, auditMethods } from './contract/audit';
import { settingsEvents, settingsMethods } from './contract/settings';

export * from './contract/define';
export * from './contract/app';
export * from './contract/audit';
export * from './contract/settings';

export const methods = {
  ...appMethods,
  ...settingsMethods,
  ...auditMethods,
} as const;

export const events = {
  ...appEvents,
  ...settingsEvents,
  ...auditEvents,
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
