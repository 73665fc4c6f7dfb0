import { describe, expect, expectTypeOf, it } from 'vitest';
import type { MethodInput, MethodOutput } from '../contract';
import { methods } from '../contract';
import { cameraIdSchema, isCameraId, parseCameraId, type CameraId } from './camera-id';

describe('CameraId: the one parser', () => {
  it('accepts what the registry and the simulators name cameras by', () => {
    for (const id of ['cam_1a2b3c4d5e6f', 'B8A44F000001', 'c1', 'cam-0', 'SIM-12', 'site:gate.1', 'a'.repeat(64)]) {
      expect(parseCameraId(id)).toBe(id); // the brand is a type, the value is the string itself
      expect(isCameraId(id)).toBe(true);
    }
  });

  it('refuses what cannot be a camera id, with a message that says what one looks like', () => {
    for (const bad of ['', ' cam_1', 'cam 1', 'cam_1\n', '-cam', '_cam', 'cam/1', 'kamera✓', 'a'.repeat(65)]) {
      expect(isCameraId(bad), JSON.stringify(bad)).toBe(false);
      expect(() => parseCameraId(bad)).toThrow(/a camera id/);
    }
    for (const notText of [undefined, null, 42, { id: 'cam_1' }]) expect(cameraIdSchema.safeParse(notText).success).toBe(false);
  });

  it('is what the contract checks camera ids with, at every method that takes one', () => {
    expect(methods['fleet.remove'].input.safeParse({ id: 'cam_1a2b3c4d5e6f' }).success).toBe(true);
    expect(methods['fleet.remove'].input.safeParse({ id: 'cam 1' }).success).toBe(false);
    expect(methods['timeline.calibration'].input.safeParse({ cameraId: '' }).success).toBe(false);
    expect(methods['deploy.preflight'].input.safeParse({ buildSha: 'a'.repeat(64), cameraIds: ['cam_1', 'not an id'] }).success).toBe(false);
    expect(methods['fleet.watch'].input.safeParse({ cameraIds: ['cam_1'], width: 320, height: 180 }).success).toBe(true);
  });
});

describe('CameraId: a plain string is not one (checked by tsc: `npm run typecheck`)', () => {
  // Each @ts-expect-error fails the type check if the line below it ever compiles, i.e. if a raw
  // string (a serial, a name) were accepted where a camera id is required.
  const takesId = (id: CameraId): string => id;
  const serial: string = 'B8A44F000001';

  it('refuses a raw string where a CameraId is required, and takes a parsed one', () => {
    // @ts-expect-error a raw string is not a CameraId
    expect(takesId(serial)).toBe(serial);
    expect(takesId(parseCameraId(serial))).toBe(serial);
    // @ts-expect-error the same for a literal
    takesId('cam_1');
    // A CameraId is still a string wherever text is wanted.
    expectTypeOf<CameraId>().toExtend<string>();
    expectTypeOf<string>().not.toExtend<CameraId>();
  });

  it('types the contract: callers must pass CameraIds, and get CameraIds back', () => {
    // @ts-expect-error the renderer cannot ask for a camera by a raw string
    const asked: MethodInput<'fleet.remove'> = { id: serial };
    expect(asked.id).toBe(serial);
    const ok: MethodInput<'fleet.remove'> = { id: parseCameraId(serial) };
    expect(ok.id).toBe(serial);
    expectTypeOf<MethodInput<'timeline.futuresForCamera'>['cameraId']>().toEqualTypeOf<CameraId>();
    expectTypeOf<MethodInput<'deploy.start'>['cameraIds']>().toEqualTypeOf<CameraId[]>();
    expectTypeOf<MethodOutput<'fleet.list'>['cameras'][number]['id']>().toEqualTypeOf<CameraId>();
    expectTypeOf<MethodOutput<'fleet.list'>['statuses'][number]['cameraId']>().toEqualTypeOf<CameraId>();
    // The serial stays an attribute, a plain string.
    expectTypeOf<MethodOutput<'fleet.list'>['cameras'][number]['serial']>().toEqualTypeOf<string>();
  });
});
