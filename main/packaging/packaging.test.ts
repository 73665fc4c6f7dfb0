import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildEap, EapError, eapFileName, packageConf, paramConf, parsePackageConf, readEap, validateManifest, type Manifest } from './index';

const v1 = () => ({
  schemaVersion: '1.7.0',
  acapPackageConf: {
    setup: { appName: 'omnisight', friendlyName: 'OmniSight Agent', vendor: 'OmniSight Developers', version: '1.2.3', runMode: 'respawn', architecture: 'aarch64' },
    configuration: {
      paramConfig: [{ name: 'MqttHost', default: '127.0.0.1', type: 'string' }],
      reverseProxy: [{ apiPath: 'identity.cgi', target: 'http://localhost:2001/identity.cgi', access: 'viewer' }],
    },
  },
});
const v2 = () => {
  const m = v1() as Record<string, unknown> & ReturnType<typeof v1>;
  m.schemaVersion = '2.0.0';
  Object.assign(m.acapPackageConf.setup, { vendorId: '0a1b2c3d4e', compatibleOsVersions: [{ min: '12.0.0' }] });
  return m;
};
const problemsOf = (m: unknown) => {
  const r = validateManifest(m);
  return r.ok ? [] : r.problems;
};
const exe = Buffer.from('\x7fELF fake aarch64 program');

describe('manifest validation', () => {
  it('accepts the shipped-style manifests for both schema versions', () => {
    expect(validateManifest(v1())).toMatchObject({ ok: true, schemaMajor: 1 });
    expect(validateManifest(v2())).toMatchObject({ ok: true, schemaMajor: 2 });
  });

  it('checks appName: first character, length, characters', () => {
    const m = v1();
    m.acapPackageConf.setup.appName = '1omni';
    expect(problemsOf(m)).toContain('acapPackageConf.setup.appName: must start with a letter');
    m.acapPackageConf.setup.appName = 'a'.repeat(27);
    expect(problemsOf(m)).toContain('acapPackageConf.setup.appName: must be at most 26 characters');
    m.acapPackageConf.setup.appName = 'a'.repeat(26);
    expect(problemsOf(m)).toEqual([]);
    m.acapPackageConf.setup.appName = 'omni sight';
    expect(problemsOf(m)).toContain('acapPackageConf.setup.appName: may contain only letters, digits and _');
  });

  it('requires semver, a known runMode and architecture', () => {
    const m = v1();
    m.acapPackageConf.setup.version = '1.2';
    m.acapPackageConf.setup.runMode = 'always';
    m.acapPackageConf.setup.architecture = 'x86_64';
    const p = problemsOf(m);
    expect(p).toContain('acapPackageConf.setup.version: must be a semantic version such as 1.2.3');
    expect(p).toContain('acapPackageConf.setup.runMode: must be one of respawn, once, never');
    expect(p).toContain('acapPackageConf.setup.architecture: must be one of all, aarch64, armv7hf');
  });

  it('reports missing required fields with their path', () => {
    const m = v1() as { acapPackageConf: { setup: Partial<ReturnType<typeof v1>['acapPackageConf']['setup']> } };
    delete m.acapPackageConf.setup.vendor;
    expect(problemsOf({ ...v1(), ...m })).toContain('acapPackageConf.setup.vendor: is required by manifest schema 1.x');
    expect(problemsOf({ acapPackageConf: v1().acapPackageConf })[0]).toMatch(/^schemaVersion: is required/);
    expect(problemsOf({ ...v1(), schemaVersion: '3.0.0' })[0]).toMatch(/^schemaVersion: must be a 1\.x or 2\.x/);
  });

  it('refuses unknown keys at any depth', () => {
    const m = v1() as ReturnType<typeof v1> & { extra?: number };
    m.extra = 1;
    (m.acapPackageConf.configuration.reverseProxy[0] as Record<string, unknown>).via = 'x';
    const p = problemsOf(m);
    expect(p).toContain('extra: unknown field, not allowed by manifest schema 1.x; remove it');
    expect(p).toContain('acapPackageConf.configuration.reverseProxy[0].via: unknown field, not allowed by manifest schema 1.x; remove it');
  });

  it('applies the 2.x rules: vendorId, compatibleOsVersions, architecture required; embeddedSdkVersion removed', () => {
    const m = v2() as unknown as { acapPackageConf: { setup: Record<string, unknown> } };
    m.acapPackageConf.setup.vendorId = 'xyz';
    delete m.acapPackageConf.setup.compatibleOsVersions;
    delete m.acapPackageConf.setup.architecture;
    m.acapPackageConf.setup.embeddedSdkVersion = '3.0';
    const p = problemsOf(m);
    expect(p).toContain('acapPackageConf.setup.vendorId: must be 10 hexadecimal characters');
    expect(p).toContain('acapPackageConf.setup.compatibleOsVersions: is required by manifest schema 2.x');
    expect(p).toContain('acapPackageConf.setup.architecture: is required by manifest schema 2.x');
    expect(p).toContain('acapPackageConf.setup.embeddedSdkVersion: was removed in manifest schema 2.x; remove it');
    // The same fields are fine (and vendorId unknown) under 1.x.
    const one = v1() as ReturnType<typeof v1> & { acapPackageConf: { setup: Record<string, unknown> } };
    one.acapPackageConf.setup.vendorId = '0a1b2c3d4e';
    expect(problemsOf(one)).toContain('acapPackageConf.setup.vendorId: unknown field, not allowed by manifest schema 1.x; remove it');
  });

  it('checks reverseProxy access and target', () => {
    const m = v1();
    m.acapPackageConf.configuration.reverseProxy[0]!.access = 'root';
    m.acapPackageConf.configuration.reverseProxy[0]!.target = 'http://evil.example/x';
    const p = problemsOf(m);
    expect(p).toContain('acapPackageConf.configuration.reverseProxy[0].access: must be one of admin, operator, viewer, anonymous');
    expect(p.some((x) => x.startsWith('acapPackageConf.configuration.reverseProxy[0].target: must be an http://localhost'))).toBe(true);
  });
});

describe('package.conf and param.conf', () => {
  it('writes KEY="value" lines from the manifest and reads them back', () => {
    const r = validateManifest(v1());
    if (!r.ok) throw new Error('fixture invalid');
    const text = packageConf(r.manifest);
    expect(text).toContain('PACKAGENAME="OmniSight Agent"\n');
    expect(text).toContain('APPNAME="omnisight"\n');
    expect(text).toContain('APPTYPE="aarch64"\n');
    expect(text).toMatch(/APPMAJORVERSION="1"\nAPPMINORVERSION="2"\nAPPMICROVERSION="3"\n/);
    expect(text).toContain('STARTMODE="respawn"\n');
    expect(text).toContain('LICENSEPAGE="none"\n');
    expect(text).toContain('APPUSR="sdk"\n');
    expect(text.split('\n').filter(Boolean).every((l) => /^[A-Z]+=("[^"]*"|'[^']*')$/.test(l))).toBe(true);
    // acap-build's defaults: REQEMBDEVVERSION 2.0 without embeddedSdkVersion, every key present in its order.
    expect(text).toContain('REQEMBDEVVERSION="2.0"\n');
    expect(text.split('\n').filter(Boolean).map((l) => l.split('=')[0])).toEqual([
      'PACKAGENAME', 'APPTYPE', 'APPNAME', 'APPID', 'LICENSENAME', 'LICENSEPAGE', 'VENDOR', 'REQEMBDEVVERSION', 'APPMAJORVERSION', 'APPMINORVERSION', 'APPMICROVERSION',
      'APPGRP', 'APPUSR', 'APPOPTS', 'OTHERFILES', 'SETTINGSPAGEFILE', 'SETTINGSPAGETEXT', 'VENDORHOMEPAGELINK', 'PREUPGRADESCRIPT', 'POSTINSTALLSCRIPT', 'STARTMODE', 'HTTPCGIPATHS',
    ]);
    expect(parsePackageConf(text).values.VENDOR).toBe('OmniSight Developers');
    expect(paramConf(r.manifest)).toBe('MqttHost="127.0.0.1" type="string"\n');
  });

  it('escapes what a shell would expand', () => {
    const m = v1();
    (m.acapPackageConf.setup as Record<string, unknown>).runOptions = '--name "$HOME" `x`';
    const r = validateManifest(m);
    if (!r.ok) throw new Error(r.problems.join());
    const line = packageConf(r.manifest).split('\n').find((l) => l.startsWith('APPOPTS='))!;
    expect(line).toBe('APPOPTS="--name \\"\\$HOME\\" \\`x\\`"');
    expect(parsePackageConf(line).values.APPOPTS).toBe('--name "$HOME" `x`');
  });
});

describe('shipped manifests', () => {
  it('native/manifest.json (1.x) and manifest.v2.json (2.x, as Axis\'s current examples) validate; v2 has no setup.user, two-part OS versions and the video group', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const read = (f: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '../../native', f), 'utf8')) as Record<string, never>;
    const m1 = read('manifest.json');
    const m2 = read('manifest.v2.json') as unknown as { schemaVersion: string; acapPackageConf: { setup: Record<string, unknown> }; resources: { linux: { user: { groups: string[] } } } };
    expect(validateManifest(m1)).toMatchObject({ ok: true, schemaMajor: 1 });
    expect(validateManifest(m2)).toMatchObject({ ok: true, schemaMajor: 2 });
    expect(m2.acapPackageConf.setup.user).toBeUndefined();
    for (const r of m2.acapPackageConf.setup.compatibleOsVersions as { min?: string; max?: string }[]) for (const v of Object.values(r)) expect(v).toMatch(/^\d+(\.\d+)?$/);
    expect(m2.resources.linux.user.groups).toContain('video');
    // Reads for viewers, rotation and calibration changes only through the admin path.
    expect((m2.acapPackageConf as unknown as { configuration: { reverseProxy: unknown[] } }).configuration.reverseProxy).toEqual([
      { apiPath: 'identity.cgi', target: 'http://localhost:2001/identity.cgi', access: 'viewer' },
      { apiPath: 'calibration.cgi', target: 'http://localhost:2001/calibration.cgi', access: 'viewer' },
      { apiPath: 'admin', target: 'http://localhost:2001/admin', access: 'admin' },
    ]);
    const conf = packageConf((validateManifest(m2) as { manifest: Manifest }).manifest);
    expect(conf).toContain('REQEMBDEVVERSION="2.0"\n');
    expect(conf).toContain('APPUSR="sdk"\n');
  });

  it('accepts {"max": "13"} alone as Axis\'s examples write it, refuses an empty range', () => {
    const m = v2() as unknown as { acapPackageConf: { setup: Record<string, unknown> } };
    m.acapPackageConf.setup.compatibleOsVersions = [{ max: '13' }];
    expect(problemsOf(m)).toEqual([]);
    m.acapPackageConf.setup.compatibleOsVersions = [{}];
    expect(problemsOf(m).join()).toMatch(/needs min, max or both/);
  });
});

describe('.eap writer and reader', () => {
  it('names the file <friendlyName>_<maj>_<min>_<patch>_<arch>.eap', () => {
    const r = validateManifest(v1());
    expect(eapFileName((r as { manifest: Manifest }).manifest)).toBe('OmniSight_Agent_1_2_3_aarch64.eap');
  });

  it('is reproducible: the same inputs give identical bytes, a new epoch changes them', async () => {
    const a = await buildEap({ manifest: v1(), executable: exe, license: 'MIT', sourceDateEpoch: 1700000000 });
    const b = await buildEap({ manifest: v1(), executable: exe, license: 'MIT', sourceDateEpoch: 1700000000 });
    expect(a.data.equals(b.data)).toBe(true);
    expect(a.sha256).toBe(b.sha256);
    const c = await buildEap({ manifest: v1(), executable: exe, license: 'MIT', sourceDateEpoch: 1700000001 });
    expect(c.data.equals(a.data)).toBe(false);
  });

  it('writes a GNU tar with sorted root entries, owner 0, fixed mtime and an executable 0755', async () => {
    const built = await buildEap({
      manifest: v2(),
      executable: exe,
      license: 'MIT',
      sourceDateEpoch: 1700000000,
      extraFiles: [{ name: 'html/index.html', data: Buffer.from('<p>hi</p>') }],
    });
    const info = await readEap(built.data);
    expect(info.problems).toEqual([]);
    expect(info.valid).toBe(true);
    expect(info.schemaMajor).toBe(2);
    expect(info.entries.map((e) => e.name)).toEqual(['LICENSE', 'manifest.json', 'omnisight', 'package.conf', 'param.conf', 'html/', 'html/index.html']);
    for (const e of info.entries) {
      expect(e.uid).toBe(0);
      expect(e.gid).toBe(0);
      expect(e.mtime).toBe(1700000000);
    }
    expect(info.entries.find((e) => e.name === 'omnisight')!.mode).toBe(0o755);
    expect(info.entries.find((e) => e.name === 'LICENSE')!.mode).toBe(0o644);
    expect(info.version).toBe('1.2.3');
    expect(info.architecture).toBe('aarch64');
    expect(info.packageConf?.APPNAME).toBe('omnisight');
    // GNU magic in the first header.
    const { gunzipSync } = await import('node:zlib');
    expect(gunzipSync(built.data).toString('latin1', 257, 265)).toBe('ustar  \0');
  });

  it('refuses to package an invalid manifest, naming the field', async () => {
    const m = v1();
    m.acapPackageConf.setup.appName = '_x';
    await expect(buildEap({ manifest: m, executable: exe, license: 'MIT' })).rejects.toThrow('acapPackageConf.setup.appName: must start with a letter');
  });

  it('reports problems in a package built elsewhere (no executable bit, name mismatch)', async () => {
    const tar = (await import('tar-stream')).default;
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    const done = new Promise<void>((r) => pack.on('end', () => r()));
    pack.entry({ name: './manifest.json' }, JSON.stringify(v1()));
    pack.entry({ name: './package.conf' }, 'APPNAME="other"\nPACKAGENAME="X"\n');
    pack.entry({ name: './omnisight', mode: 0o644 }, 'bin');
    pack.finalize();
    await done;
    const info = await readEap(gzipSync(Buffer.concat(chunks)));
    expect(info.entries.map((e) => e.name)).toEqual(['manifest.json', 'package.conf', 'omnisight']);
    expect(info.valid).toBe(false);
    expect(info.problems).toContain('package.conf APPNAME="other" differs from manifest appName "omnisight"');
    expect(info.problems).toContain('omnisight: is not executable (mode 644); it needs 0755');
  });

  it('rejects garbage: not gzip, gzip but not tar, and a zip bomb', async () => {
    await expect(readEap(Buffer.from('hello, this is not a package at all'))).rejects.toMatchObject({ code: 'not_gzip' });
    await expect(readEap(gzipSync(Buffer.alloc(4096, 0x41)))).rejects.toMatchObject({ code: 'not_tar' });
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    await expect(readEap(bomb, { maxUnpackedBytes: 1024 * 1024 })).rejects.toBeInstanceOf(EapError);
    await expect(readEap(bomb, { maxUnpackedBytes: 1024 * 1024 })).rejects.toMatchObject({ code: 'too_large' });
  });
});
