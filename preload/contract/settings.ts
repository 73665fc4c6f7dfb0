import { z } from 'zod';
import { event, method, noInput } from './define';

const mqttUrl = z
  .string()
  .max(512)
  .refine((v) => v === '' || /^(mqtts?|wss?):\/\/[^\s/]+(:\d{1,5})?(\/.*)?$/.test(v), {
    message: 'Use a broker URL such as mqtt://broker.example:1883 or mqtts://broker.example:8883',
  });

/**
 * Every setting, its type and its default. Flat keys keep one row per setting in the database and
 * make a partial update obvious.
 */
export const settingsSchema = z
  .object({
    theme: z.enum(['system', 'light', 'dark']).default('system'),
    /** With no camera and no setting the app runs on the simulated ARTPEC fleet. */
    demoFleet: z.boolean().default(true),
    demoCameraCount: z.number().int().min(1).max(64).default(8),
    mqttMode: z.enum(['embedded', 'external']).default('embedded'),
    mqttUrl: mqttUrl.default(''),
    mqttUsername: z.string().max(256).default(''),
    notifications: z.boolean().default(true),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  })
  .strict();
export type Settings = z.infer<typeof settingsSchema>;
export type SettingKey = keyof Settings;

export const settingsPatchSchema = settingsSchema.partial().strict();
export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

export const settingsMethods = {
  'settings.get': method('All settings with their current values.', noInput, settingsSchema),
  'settings.set': method('Change some settings; returns all settings after the change.', settingsPatchSchema, settingsSchema),
  'settings.reset': method(
    'Put the named settings (or all) back to their defaults.',
    z.object({ keys: z.array(settingsSchema.keyof()).max(64).optional() }).strict(),
    settingsSchema,
  ),
} as const;

export const settingsEvents = {
  'settings.changed': event('Settings after a change, from any window or agent.', settingsSchema),
} as const;
