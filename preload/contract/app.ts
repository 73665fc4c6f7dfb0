import { z } from 'zod';
import { event, method, noInput } from './define';

export const secretProtectionSchema = z.enum(['os-keychain', 'basic-text', 'file-key']);

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
  'app.notification': event('A notification for the user (shown as a toast and, when allowed, natively).', notificationSchema),
} as const;
