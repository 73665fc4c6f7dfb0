import { z } from 'zod';
import { event, method, noInput } from './define';

const mqttUrl = z
  .string()
  .max(512)
  .refine((v) => v === '' || /^(mqtts?|wss?):\/\/[^\s/]+(:\d{1,5})?(\/.*)?$/.test(v), {
    message: 'Use a broker URL such as mqtt://broker.example:1883 or mqtts://broker.example:8883',
  });

/** An electron-updater "generic" feed: https, or plain http on this machine only (a local mirror, tests). */
const updateFeedUrl = z
  .string()
  .max(2048)
  .refine((v) => v === '' || /^https:\/\/[^\s/]+(\/\S*)?$/.test(v) || /^http:\/\/(127\.0\.0\.1|localhost)(:\d{1,5})?(\/\S*)?$/.test(v), {
    message: 'Use an https:// address of an update feed (the folder holding latest.yml), or leave it empty',
  });

/** Every setting and its type. Flat keys keep one row per setting and make a partial update obvious. */
const settingFields = {
  theme: z.enum(['system', 'light', 'dark']),
  /** With no camera and no setting the app runs on the simulated ARTPEC fleet. */
  demoFleet: z.boolean(),
  demoCameraCount: z.number().int().min(1).max(64),
  mqttMode: z.enum(['embedded', 'external']),
  mqttUrl,
  mqttUsername: z.string().max(256),
  notifications: z.boolean(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']),
  /** App mode, installed builds: off until the user opts in. */
  autoUpdate: z.boolean(),
  updateFeedUrl,
  /** How long the Timeline keeps its history (track segments, interventions), in hours: 1 h to 90 days. */
  timelineRetentionHours: z.number().int().min(1).max(2160),
};

export const settingsDefaults = {
  theme: 'system',
  demoFleet: true,
  demoCameraCount: 8,
  mqttMode: 'embedded',
  mqttUrl: '',
  mqttUsername: '',
  notifications: true,
  logLevel: 'info',
  autoUpdate: false,
  updateFeedUrl: '',
  timelineRetentionHours: 24,
} as const satisfies { [K in keyof typeof settingFields]: z.input<(typeof settingFields)[K]> };

export const settingsSchema = z
  .object({
    theme: settingFields.theme.default(settingsDefaults.theme),
    demoFleet: settingFields.demoFleet.default(settingsDefaults.demoFleet),
    demoCameraCount: settingFields.demoCameraCount.default(settingsDefaults.demoCameraCount),
    mqttMode: settingFields.mqttMode.default(settingsDefaults.mqttMode),
    mqttUrl: settingFields.mqttUrl.default(settingsDefaults.mqttUrl),
    mqttUsername: settingFields.mqttUsername.default(settingsDefaults.mqttUsername),
    notifications: settingFields.notifications.default(settingsDefaults.notifications),
    logLevel: settingFields.logLevel.default(settingsDefaults.logLevel),
    autoUpdate: settingFields.autoUpdate.default(settingsDefaults.autoUpdate),
    updateFeedUrl: settingFields.updateFeedUrl.default(settingsDefaults.updateFeedUrl),
    timelineRetentionHours: settingFields.timelineRetentionHours.default(settingsDefaults.timelineRetentionHours),
  })
  .strict();
export type Settings = z.infer<typeof settingsSchema>;
export type SettingKey = keyof Settings;

/** Built from the fields without defaults: zod 4 would otherwise fill every absent key with its default. */
export const settingsPatchSchema = z.object(settingFields).partial().strict();
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
