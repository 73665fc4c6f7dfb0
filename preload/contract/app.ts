import { z } from 'zod';
import { event, method, noInput } from './define';

export const secretProtectionSchema = z.enum(['os-keychain', 'basic-text', 'file-key']);

/**
 * The embedded MQTT broker cameras publish to (main/mqtt): serving; restarting after its thread died
 * (`attempt` of this outage, since when, why the last start failed or the thread died); or failed
 * (it did not start with the application). `restarts`: outages it came back from since the start.
 */
const restarts = z.number().int().min(0);
const brokerError = z.string().max(2_000);
export const brokerHealthSchema = z.discriminatedUnion('state', [
  z.object({ state: z.literal('serving'), restarts }).strict(),
  z.object({ state: z.literal('restarting'), restarts, attempt: z.number().int().min(1), since: z.number(), lastError: brokerError }).strict(),
  z.object({ state: z.literal('failed'), restarts, lastError: brokerError }).strict(),
]);
export type BrokerHealth = z.infer<typeof brokerHealthSchema>;

export const appInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  mode: z.enum(['electron', 'browser']),
  dataDir: z.string(),
  platform: z.string(),
  secretProtection: secretProtectionSchema,
  /** Things the user should know about this installation, in words that say what to do. */
  warnings: z.array(z.string()),
  startedAt: z.number(),
  /** The embedded broker's health; null with an external broker, or before the fleet's MQTT started. */
  broker: brokerHealthSchema.nullable(),
});
export type AppInfo = z.infer<typeof appInfoSchema>;

export const notificationSchema = z.object({
  title: z.string(),
  body: z.string(),
  severity: z.enum(['info', 'warning', 'critical']),
});
export type AppNotification = z.infer<typeof notificationSchema>;

export const appMethods = {
  'app.info': method('Version, mode, data folder and warnings about this installation.', noInput, appInfoSchema),
  'app.ping': method(
    'Round-trip check used by the status bar.',
    z.object({ sentAt: z.number() }).strict(),
    z.object({ sentAt: z.number(), receivedAt: z.number() }),
  ),
} as const;

export const appEvents = {
  'app.broker': event('The embedded MQTT broker changed state (stopped and restarting, back, failed).', brokerHealthSchema),
  'app.notification': event('A notification for the user (shown as a toast and, when allowed, natively).', notificationSchema),
} as const;
