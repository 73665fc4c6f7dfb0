import { describe, expect, it } from 'vitest';
import { settingsSchema } from '../../../../preload/contract';
import { checkPatch, serverErrors } from './settingsCore';

const current = settingsSchema.parse({});

describe('checkPatch', () => {
  it('says what is wrong in the words of the form, per field', () => {
    expect(checkPatch({ demoCameraCount: 100 }, current)).toEqual({ demoCameraCount: 'Simulated cameras: at most 64.' });
    expect(checkPatch({ demoCameraCount: 0 }, current)).toEqual({ demoCameraCount: 'Simulated cameras: at least 1.' });
    expect(checkPatch({ demoCameraCount: 2.5 }, current)).toEqual({ demoCameraCount: 'Simulated cameras: a whole number.' });
    expect(checkPatch({ timelineRetentionHours: 0 }, current)).toEqual({ timelineRetentionHours: 'Timeline history: at least 1 hour.' });
    expect(checkPatch({ timelineRetentionHours: 3000 }, current)).toEqual({ timelineRetentionHours: 'Timeline history: at most 2160 hours.' });
    expect(checkPatch({ timelineRetentionHours: Number.NaN }, current).timelineRetentionHours).toBe('Timeline history: a number.');
    expect(checkPatch({ timelineRetentionHours: 72 }, current)).toEqual({});
    expect(checkPatch({ mqttUrl: 'not a url' }, current).mqttUrl).toMatch(/^Broker URL: Use a broker URL such as mqtt:\/\//);
  });

  it('does not let an external broker be chosen without its address', () => {
    expect(checkPatch({ mqttMode: 'external' }, current).mqttUrl).toMatch(/needs its address/);
    expect(checkPatch({ mqttMode: 'external', mqttUrl: 'mqtt://broker.example:1883' }, current)).toEqual({});
    expect(checkPatch({ mqttMode: 'embedded' }, current)).toEqual({});
  });
});

describe('serverErrors', () => {
  it('puts a refusal that names fields next to them, and one that does not on the form', () => {
    expect(serverErrors({ code: 'invalid_input', message: 'settings.set: demoCameraCount: Too big', issues: [{ path: 'demoCameraCount', message: 'Too big' }] })).toEqual({
      demoCameraCount: 'Simulated cameras: Too big',
    });
    expect(serverErrors({ code: 'unavailable', message: 'The store is closed.' })).toEqual({ form: 'The store is closed.' });
  });
});
