import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { ReverseProxyEntry } from './eap';

/** One installed ACAP application as list.cgi shows it. */
export interface InstalledApp {
  name: string;
  niceName: string;
  vendor: string;
  version: string;
  applicationId: string;
  vendorId?: string;
  status: 'Running' | 'Stopped' | 'Idle';
  /**
   * Simulator-only: the files the installer unpacked (package paths, sorted), for tests to see what
   * arrived (e.g. a model) through SimFleet.installedFiles. list.cgi never shows them: a real camera
   * has no such attribute.
   */
  files?: string[];
  /** The manifest's configuration.settingPage: list.cgi's ConfigurationPage is local/<appName>/<page>. */
  settingPage?: string;
  /** The manifest's setup.vendorUrl: list.cgi's VendorHomePage is the link acap-build writes for it. */
  vendorUrl?: string;
  /** The manifest's reverseProxy entries: what the camera's web server forwards to the app, and to whom. */
  reverseProxy?: ReverseProxyEntry[];
}

export type InstallResult = { ok: true; app: Omit<InstalledApp, 'status'> } | { ok: false; code: number };

/**
 * What decides whether a package installs and what "running" means. The default only checks the
 * package shape; the deploy work can plug in a full .eap parser and a qemu runner here.
 */
export interface AppRuntime {
  install(pkg: Buffer, ctx: { allowUnsigned: boolean; installed: readonly InstalledApp[]; architecture: string; firmware: string }): Promise<InstallResult>;
  /** undefined on success, otherwise an Axis control.cgi error code. */
  start(app: InstalledApp): Promise<number | undefined>;
  stop(app: InstalledApp): Promise<number | undefined>;
  /** control.cgi remove: the app's files and its local data go (a reinstall then starts a new identity). */
  remove?(app: InstalledApp): Promise<void>;
  /** A program that ended by itself (exit at start, crash): the store marks it Stopped. */
  onExit?(listener: (name: string, code: number | null) => void): void;
  /** Power loss: every program dies without an exit report. */
  halt?(): Promise<void>;
}

export const UPLOAD_ERR = { notEap: 1, verification: 2, tooLarge: 3, incompatible: 5, unspecified: 10, inProgress: 12, userNotAllowed: 13, letterCase: 14, vendorIdDiffers: 27, badManifest: 29 } as const;
export const CONTROL_ERR = { invalidPackage: 1, notFound: 4, alreadyRunning: 6, notRunning: 7, tooManyRunning: 9, unspecified: 10 } as const;

const MAX_UNPACKED = 256 * 1024 * 1024;

async function readTarEntries(tarBuf: Buffer, wanted: ReadonlySet<string>): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const name = header.name.replace(/^\.\//, '');
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: unknown) => {
        const c = chunk as Buffer;
        if (wanted.has(name) && size < 1024 * 1024) chunks.push(c);
        size += c.length;
      });
      stream.on('end', () => {
        if (wanted.has(name)) found.set(name, Buffer.concat(chunks));
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([tarBuf]).pipe(extract);
  await done;
  return found;
}

function parsePackageConf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Z_]+)="(.*)"$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Reads appName, version and vendor from manifest.json (or package.conf); treats every package as unsigned. */
export function createPackageCheckRuntime(): AppRuntime {
  return {
    async install(pkg, ctx) {
      if (pkg.length < 18 || pkg[0] !== 0x1f || pkg[1] !== 0x8b) return { ok: false, code: UPLOAD_ERR.notEap };
      let entries: Map<string, Buffer>;
      try {
        const tarBuf = gunzipSync(pkg, { maxOutputLength: MAX_UNPACKED });
        entries = await readTarEntries(tarBuf, new Set(['manifest.json', 'package.conf']));
      } catch {
        return { ok: false, code: UPLOAD_ERR.notEap };
      }
      let app: Omit<InstalledApp, 'status'> | undefined;
      let arch = 'all';
      const manifest = entries.get('manifest.json');
      if (manifest) {
        try {
          const m = JSON.parse(manifest.toString('utf8')) as { schemaVersion?: unknown; acapPackageConf?: { setup?: Record<string, unknown> } };
          const s = m.acapPackageConf?.setup ?? {};
          const name = s.appName;
          const version = s.version;
          const vendor = s.vendor;
          // schemaVersion and runMode are required by every manifest schema (eap.ts checks the rest).
          if (typeof m.schemaVersion !== 'string' || typeof s.runMode !== 'string') return { ok: false, code: UPLOAD_ERR.badManifest };
          if (typeof name !== 'string' || typeof version !== 'string' || typeof vendor !== 'string') return { ok: false, code: UPLOAD_ERR.badManifest };
          const user = s.user as { username?: unknown; group?: unknown } | undefined;
          if (user && (user.username === 'root' || user.group === 'root')) return { ok: false, code: UPLOAD_ERR.userNotAllowed };
          app = {
            name,
            niceName: typeof s.friendlyName === 'string' ? s.friendlyName : name,
            vendor,
            version,
            applicationId: typeof s.appId === 'string' ? s.appId : '',
            vendorId: typeof s.vendorId === 'string' ? s.vendorId : undefined,
          };
          if (typeof s.architecture === 'string') arch = s.architecture;
        } catch {
          return { ok: false, code: UPLOAD_ERR.badManifest };
        }
      } else if (entries.has('package.conf')) {
        const c = parsePackageConf(entries.get('package.conf')!.toString('utf8'));
        if (!c.APPNAME || !c.VENDOR || !c.APPMAJORVERSION) return { ok: false, code: UPLOAD_ERR.badManifest };
        if (c.APPUSR === 'root' || c.APPGRP === 'root') return { ok: false, code: UPLOAD_ERR.userNotAllowed };
        app = {
          name: c.APPNAME,
          niceName: c.PACKAGENAME ?? c.APPNAME,
          vendor: c.VENDOR,
          version: [c.APPMAJORVERSION, c.APPMINORVERSION ?? '0', c.APPMICROVERSION ?? '0'].join('.'),
          applicationId: c.APPID ?? '',
        };
        if (c.APPTYPE) arch = c.APPTYPE;
      } else {
        return { ok: false, code: UPLOAD_ERR.badManifest };
      }
      if (!/^[A-Za-z][A-Za-z0-9_]{0,25}$/.test(app.name) || !/^\d+\.\d+\.\d+/.test(app.version)) return { ok: false, code: UPLOAD_ERR.badManifest };
      if (arch !== 'all' && arch !== ctx.architecture) return { ok: false, code: UPLOAD_ERR.incompatible };
      if (!ctx.allowUnsigned) return { ok: false, code: UPLOAD_ERR.verification };
      const same = ctx.installed.find((a) => a.name.toLowerCase() === app.name.toLowerCase());
      if (same && same.name !== app.name) return { ok: false, code: UPLOAD_ERR.letterCase };
      if (same?.vendorId && app.vendorId && same.vendorId !== app.vendorId) return { ok: false, code: UPLOAD_ERR.vendorIdDiffers };
      return { ok: true, app };
    },
    start: async () => undefined,
    stop: async () => undefined,
  };
}

/** The vendor link as acap-build writes it into package.conf (VENDORHOMEPAGELINK) and list.cgi shows it. */
const vendorLink = (url: string): string => `<a href="${url}" target="_blank">${url.replace(/^https?:\/\//, '')}</a>`;

const xmlAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface AppStore {
  apps(): readonly InstalledApp[];
  get(name: string): InstalledApp | undefined;
  allowUnsigned(): boolean;
  upload(pkg: Buffer): Promise<string>;
  listXml(): string;
  control(action: string | null, pkg: string | null): Promise<string>;
  config(action: string | null, name: string | null, value: string | null): string;
  /** True while an upload is being received or installed. */
  busy(): boolean;
  /** Marks an upload body being received (a second upload meanwhile gets Error: 12). */
  receiving(on: boolean): void;
  /** Camera going down: programs die, the installed list (and what ran) is kept. */
  suspend(): Promise<void>;
  /** Camera back up: what was running starts again. */
  resume(): Promise<void>;
}

/** Installed apps in memory, with Axis's reply formats; `onStatus` tells the camera when an app starts or stops. */
export function createAppStore(opts: {
  runtime: AppRuntime;
  architecture: string;
  firmware: string;
  preinstalled: InstalledApp[];
  onStatus: (app: InstalledApp, installedNow: boolean) => void;
  maxRunning?: number;
}): AppStore {
  const apps: InstalledApp[] = opts.preinstalled.map((a) => ({ ...a }));
  // AXIS OS 12 refuses unsigned packages by default.
  let allowUnsigned = Number(opts.firmware.split('.')[0]) < 12;
  let uploading = false;
  let receivingBody = false;
  const maxRunning = opts.maxRunning ?? 8;
  opts.runtime.onExit?.((name) => {
    const app = apps.find((a) => a.name === name);
    if (!app || app.status !== 'Running') return;
    app.status = 'Stopped';
    opts.onStatus(app, false);
  });

  const upload = async (pkg: Buffer): Promise<string> => {
    if (uploading) return `Error: ${UPLOAD_ERR.inProgress}\n`;
    uploading = true;
    try {
      const result = await opts.runtime.install(pkg, { allowUnsigned, installed: apps, architecture: opts.architecture, firmware: opts.firmware });
      if (!result.ok) return `Error: ${result.code}\n`;
      const idx = apps.findIndex((a) => a.name === result.app.name);
      const prev = idx >= 0 ? apps[idx] : undefined;
      if (prev?.status === 'Running') await opts.runtime.stop(prev);
      const next: InstalledApp = { ...result.app, status: 'Stopped' };
      if (idx >= 0) apps[idx] = next;
      else apps.push(next);
      opts.onStatus(next, true);
      return 'OK\n';
    } catch {
      return `Error: ${UPLOAD_ERR.unspecified}\n`;
    } finally {
      uploading = false;
    }
  };

  const listXml = (): string => {
    if (apps.length === 0) return '<reply result="ok">\n</reply>\n';
    const rows = apps.map(
      (a) =>
        ` <application Name="${xmlAttr(a.name)}" NiceName="${xmlAttr(a.niceName)}" Vendor="${xmlAttr(a.vendor)}" Version="${xmlAttr(a.version)}" ApplicationID="${xmlAttr(a.applicationId)}" License="None" Status="${a.status}" ConfigurationPage="${a.settingPage ? xmlAttr(`local/${a.name}/${a.settingPage}`) : ''}" VendorHomePage="${a.vendorUrl ? xmlAttr(vendorLink(a.vendorUrl)) : ''}" LicenseName="Proprietary"/>`,
    );
    return `<reply result="ok">\n${rows.join('\n')}\n</reply>\n`;
  };

  const control = async (action: string | null, name: string | null): Promise<string> => {
    if (!name || !/^[A-Za-z][A-Za-z0-9_]{0,25}$/.test(name)) return `Error: ${CONTROL_ERR.invalidPackage}\n`;
    const idx = apps.findIndex((a) => a.name === name);
    const app = apps[idx];
    if (!app) return `Error: ${CONTROL_ERR.notFound}\n`;
    try {
      switch (action) {
        case 'start': {
          if (app.status === 'Running') return `Error: ${CONTROL_ERR.alreadyRunning}\n`;
          if (apps.filter((a) => a.status === 'Running').length >= maxRunning) return `Error: ${CONTROL_ERR.tooManyRunning}\n`;
          const code = await opts.runtime.start(app);
          if (code !== undefined) return `Error: ${code}\n`;
          app.status = 'Running';
          break;
        }
        case 'stop': {
          if (app.status !== 'Running') return `Error: ${CONTROL_ERR.notRunning}\n`;
          const code = await opts.runtime.stop(app);
          if (code !== undefined) return `Error: ${code}\n`;
          app.status = 'Stopped';
          break;
        }
        case 'restart': {
          if (app.status === 'Running') await opts.runtime.stop(app);
          app.status = 'Stopped';
          const code = await opts.runtime.start(app);
          if (code !== undefined) return `Error: ${code}\n`;
          app.status = 'Running';
          break;
        }
        case 'remove': {
          if (app.status === 'Running') await opts.runtime.stop(app);
          app.status = 'Stopped';
          await opts.runtime.remove?.(app);
          apps.splice(idx, 1);
          break;
        }
        default:
          return `Error: ${CONTROL_ERR.unspecified}\n`;
      }
    } catch {
      return `Error: ${CONTROL_ERR.unspecified}\n`;
    }
    opts.onStatus(app, false);
    return 'OK\n';
  };

  const config = (action: string | null, name: string | null, value: string | null): string => {
    const err = (type: number, message: string): string => `<reply result="error">\n <error type="${type}" message="${xmlAttr(message)}"/>\n</reply>\n`;
    if (name !== 'AllowUnsigned') return err(1, `Unknown configuration name: ${name ?? ''}`);
    if (action === 'get') return `<reply result="ok">\n <param name="AllowUnsigned" value="${allowUnsigned}"/>\n</reply>\n`;
    if (action === 'set') {
      if (value !== 'true' && value !== 'false') return err(1, 'value must be true or false');
      allowUnsigned = value === 'true';
      return '<reply result="ok">\n</reply>\n';
    }
    return err(1, 'action must be get or set');
  };

  const suspend = async (): Promise<void> => {
    await opts.runtime.halt?.();
  };
  const resume = async (): Promise<void> => {
    for (const app of apps) {
      if (app.status !== 'Running') continue;
      const code = await opts.runtime.start(app).catch(() => CONTROL_ERR.unspecified);
      if (code !== undefined) app.status = 'Stopped';
      opts.onStatus(app, false);
    }
  };

  return {
    apps: () => apps,
    get: (n) => apps.find((a) => a.name === n),
    allowUnsigned: () => allowUnsigned,
    upload,
    listXml,
    control,
    config,
    busy: () => uploading || receivingBody,
    receiving: (on) => {
      receivingBody = on;
    },
    suspend,
    resume,
  };
}
