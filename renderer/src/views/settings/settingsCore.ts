// Settings are checked before they are saved, with the contract's own schema, and problems are
// said in the words of the form ("Simulated cameras: at most 64"), next to the field.
import { settingsPatchSchema, type ContractError, type Settings, type SettingsPatch } from '../../../../preload/contract';

export const fieldLabels: Record<keyof Settings, string> = {
  theme: 'Theme',
  demoFleet: 'Simulated fleet',
  demoCameraCount: 'Simulated cameras',
  mqttMode: 'Broker',
  mqttUrl: 'Broker URL',
  mqttUsername: 'Broker user name',
  notifications: 'Desktop notifications',
  logLevel: 'Log level',
  autoUpdate: 'Automatic updates',
  updateFeedUrl: 'Update feed URL',
  timelineRetentionHours: 'Timeline history',
};

/** The unit a number field is entered in, said with its limits ("at most 2160 hours"). */
const units: Partial<Record<keyof Settings, string>> = { timelineRetentionHours: 'hours' };

export type FieldErrors = Partial<Record<keyof Settings, string>>;

interface Issue {
  path: PropertyKey[];
  code: string;
  message: string;
  maximum?: number | bigint;
  minimum?: number | bigint;
  expected?: string;
}

function sentence(i: Issue, unit?: string): string {
  const u = (n: number | bigint): string => (!unit ? '' : Number(n) === 1 ? ` ${unit.replace(/s$/, '')}` : ` ${unit}`);
  if (i.code === 'too_big' && i.maximum !== undefined) return `at most ${String(i.maximum)}${u(i.maximum)}.`;
  if (i.code === 'too_small' && i.minimum !== undefined) return `at least ${String(i.minimum)}${u(i.minimum)}.`;
  if (i.code === 'invalid_type' && i.expected === 'int') return 'a whole number.';
  if (i.code === 'invalid_type' && i.expected === 'number') return 'a number.';
  return i.message.endsWith('.') ? i.message : `${i.message}.`;
}

/** What is wrong with `patch`, per field, given the settings it applies to; empty when it may be saved. */
export function checkPatch(patch: SettingsPatch, current: Settings): FieldErrors {
  const errors: FieldErrors = {};
  const r = settingsPatchSchema.safeParse(patch);
  if (!r.success)
    for (const i of r.error.issues as Issue[]) {
      const key = i.path[0] as keyof Settings;
      errors[key] ??= `${fieldLabels[key] ?? String(key)}: ${sentence(i, units[key])}`;
    }
  const mode = patch.mqttMode ?? current.mqttMode;
  const url = patch.mqttUrl ?? current.mqttUrl;
  if (mode === 'external' && !url.trim() && !errors.mqttUrl) errors.mqttUrl = 'Broker URL: an external broker needs its address, e.g. mqtts://broker.example:8883.';
  return errors;
}

/** A refusal from the server, per field when it names them (the same words as checkPatch). */
export function serverErrors(err: ContractError): FieldErrors & { form?: string } {
  if (!err.issues?.length) return { form: err.message };
  const out: FieldErrors & { form?: string } = {};
  for (const i of err.issues) {
    const key = i.path.split('.')[0] as keyof Settings;
    if (key in fieldLabels) out[key] ??= `${fieldLabels[key]}: ${i.message}`;
    else out.form = err.message;
  }
  return out;
}
