// The simulated camera's own .eap reader: gunzip, then the tar headers parsed by hand (ustar and
// GNU long names), then the manifest checked the way the firmware does. Written independently of
// the desktop's packaging code on purpose: each side tests the other.
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

// Off the event loop (libuv's pool), as a camera's own CPU would do it while the server keeps serving.
const gunzipAsync = promisify(gunzip);

export interface EapEntry {
  name: string;
  mode: number;
  data: Buffer;
}

export type EapCheck =
  | {
      ok: true;
      appName: string;
      friendlyName: string;
      vendor: string;
      vendorId?: string;
      version: string;
      appId: string;
      architecture: string;
      runMode: string;
      reverseProxy: ReverseProxyEntry[];
      compatibleOsVersions?: { min?: string; max?: string }[];
      /** configuration.settingPage (package.conf SETTINGSPAGEFILE): list.cgi's ConfigurationPage. */
      settingPage?: string;
      /** setup.vendorUrl (package.conf VENDORHOMEPAGELINK): list.cgi's VendorHomePage. */
      vendorUrl?: string;
      entries: EapEntry[];
    }
  | { ok: false; code: number; reason: string };

/** configuration.reverseProxy: /local/<appName>/<apiPath> is forwarded to target with the access level given. */
export interface ReverseProxyEntry {
  apiPath: string;
  target: string;
  access: 'admin' | 'operator' | 'viewer' | 'anonymous';
}

const BLOCK = 512;
const MAX_UNPACKED = 256 * 1024 * 1024;

/**
 * Output chunk size for one package: gzip's trailer holds the unpacked size (mod 2^32), so one
 * chunk of that size inflates in a single pool job instead of hundreds of 16 KiB round trips and
 * a final copy. The trailer is only a hint: a lying one costs speed, never correctness, and the
 * chunk is capped by deflate's best ratio (~1032:1) so a tiny package cannot claim a huge buffer.
 */
const chunkFor = (gz: Buffer): number => {
  const isize = gz.readUInt32LE(gz.length - 4);
  return Math.max(64 * 1024, Math.min(isize + 1, gz.length * 1032, 64 * 1024 * 1024));
};

const APP_NAME = /^[A-Za-z][A-Za-z0-9_]{0,25}$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

const cstr = (b: Buffer, off: number, len: number): string => {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return s.subarray(0, z < 0 ? s.length : z).toString('utf8');
};

const octal = (b: Buffer, off: number, len: number): number => {
  const s = cstr(b, off, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new Error(`bad octal field "${s}"`);
  return parseInt(s, 8);
};

/** Walks a tar archive; throws when a header checksum or size is wrong. */
export function readTar(tar: Buffer): EapEntry[] {
  const out: EapEntry[] = [];
  let pos = 0;
  let longName: string | undefined;
  while (pos + BLOCK <= tar.length) {
    const h = tar.subarray(pos, pos + BLOCK);
    if (h.every((x) => x === 0)) break; // end-of-archive marker
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== octal(h, 148, 8)) throw new Error('tar header checksum mismatch');
    const size = octal(h, 124, 12);
    const type = String.fromCharCode(h[156]!);
    const dataStart = pos + BLOCK;
    if (dataStart + size > tar.length) throw new Error('tar entry runs past the end');
    const data = tar.subarray(dataStart, dataStart + size);
    pos = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = cstr(data, 0, data.length);
      continue;
    }
    const magic = cstr(h, 257, 6);
    const prefix = magic.startsWith('ustar') ? cstr(h, 345, 155) : '';
    const name = (longName ?? (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100))).replace(/^\.\//, '');
    longName = undefined;
    if (type === '0' || type === '\0') out.push({ name, mode: octal(h, 100, 8), data });
  }
  return out;
}

export function parsePackageConf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Z_]+)="(.*)"$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

// Keys the manifest schemas know (1.x and 2.x); anything else is refused as the schemas do.
const TOP_KEYS = new Set(['schemaVersion', 'acapPackageConf', 'resources']);
const CONF_KEYS = new Set(['setup', 'configuration', 'installation', 'uninstallation', 'copyProtection']);
const SETUP_KEYS = new Set(['appName', 'appId', 'architecture', 'embeddedSdkVersion', 'friendlyName', 'runMode', 'runOptions', 'user', 'vendor', 'vendorUrl', 'vendorId', 'version', 'compatibleOsVersions']);

const fail = (code: number, reason: string): EapCheck => ({ ok: false, code, reason });

/** Reads and checks a package. Codes follow upload.cgi: 1 not an EAP, 5 incompatible, 29 bad manifest. */
export async function checkEap(pkg: Buffer, cameraArch: string): Promise<EapCheck> {
  if (pkg.length < 18 || pkg[0] !== 0x1f || pkg[1] !== 0x8b) return fail(1, 'not gzip');
  let entries: EapEntry[];
  try {
    entries = readTar(await gunzipAsync(pkg, { maxOutputLength: MAX_UNPACKED, chunkSize: chunkFor(pkg) }));
  } catch (e) {
    return fail(1, `not a gzip tar: ${(e as Error).message}`);
  }
  if (entries.length === 0) return fail(1, 'empty archive');
  const get = (n: string): Buffer | undefined => entries.find((e) => e.name === n)?.data;
  const conf = get('package.conf') ? parsePackageConf(get('package.conf')!.toString('utf8')) : undefined;
  const mtext = get('manifest.json');
  let setup: Record<string, unknown>;
  const reverseProxy: ReverseProxyEntry[] = [];
  if (mtext) {
    let m: unknown;
    try {
      m = JSON.parse(mtext.toString('utf8'));
    } catch {
      return fail(29, 'manifest.json is not JSON');
    }
    if (!m || typeof m !== 'object' || Array.isArray(m)) return fail(29, 'manifest.json is not an object');
    const top = m as Record<string, unknown>;
    for (const k of Object.keys(top)) if (!TOP_KEYS.has(k)) return fail(29, `unknown key ${k}`);
    const apc = top.acapPackageConf as Record<string, unknown> | undefined;
    if (!apc || typeof apc !== 'object') return fail(29, 'acapPackageConf missing');
    for (const k of Object.keys(apc)) if (!CONF_KEYS.has(k)) return fail(29, `unknown key acapPackageConf.${k}`);
    const s = apc.setup as Record<string, unknown> | undefined;
    if (!s || typeof s !== 'object') return fail(29, 'acapPackageConf.setup missing');
    for (const k of Object.keys(s)) if (!SETUP_KEYS.has(k)) return fail(29, `unknown key setup.${k}`);
    // Both schema generations require schemaVersion, and setup.runMode with appName, vendor and
    // version: a manifest without them is not one the firmware installs (upload.cgi Error: 29).
    if (typeof top.schemaVersion !== 'string') return fail(29, 'schemaVersion missing');
    const sv = top.schemaVersion;
    const schemaMajor = Number(sv.split('.')[0]);
    if (!(schemaMajor === 1 || schemaMajor === 2)) return fail(29, `schemaVersion ${sv} unsupported`);
    for (const f of ['appName', 'vendor', 'version', 'runMode'] as const) if (typeof s[f] !== 'string') return fail(29, `setup.${f} missing`);
    if (!['respawn', 'once', 'never'].includes(s.runMode as string)) return fail(29, 'setup.runMode invalid');
    // An app runs as the SDK's unprivileged user; asking for root is refused (Error: 13, user or
    // group not allowed). Schema 2 still accepts setup.user, with the username sdk only.
    if (s.user !== undefined) {
      const u = s.user as { username?: unknown; group?: unknown } | null;
      if (!u || typeof u !== 'object' || typeof u.username !== 'string' || typeof u.group !== 'string') return fail(29, 'setup.user needs username and group');
      if (u.username === 'root' || u.group === 'root') return fail(13, 'setup.user asks for root');
      if (schemaMajor === 2 && u.username !== 'sdk') return fail(13, `setup.user ${u.username} is not allowed in schema 2 (only sdk)`);
    }
    if (schemaMajor === 2) {
      if (typeof s.vendorId !== 'string' || !/^[0-9a-fA-F]{10}$/.test(s.vendorId)) return fail(29, 'setup.vendorId must be 10 hex characters');
      if (!Array.isArray(s.compatibleOsVersions) || s.compatibleOsVersions.length === 0) return fail(29, 'setup.compatibleOsVersions missing');
      if (typeof s.architecture !== 'string') return fail(29, 'setup.architecture missing');
      if (s.embeddedSdkVersion !== undefined) return fail(29, 'setup.embeddedSdkVersion is not allowed in schema 2');
    }
    setup = s;
    const sp = (apc.configuration as { settingPage?: unknown } | undefined)?.settingPage;
    if (sp !== undefined) {
      if (typeof sp !== 'string' || !/^[A-Za-z0-9_.-][A-Za-z0-9_./-]*$/.test(sp)) return fail(29, 'configuration.settingPage must be a file name under html/');
      setup = { ...s, settingPage: sp };
    }
    const rp = (apc.configuration as { reverseProxy?: unknown } | undefined)?.reverseProxy;
    if (rp !== undefined) {
      if (!Array.isArray(rp)) return fail(29, 'configuration.reverseProxy must be an array');
      for (const r of rp as Record<string, unknown>[]) {
        const ok =
          r && typeof r.apiPath === 'string' && /^[A-Za-z0-9_.-][A-Za-z0-9_./-]*$/.test(r.apiPath) &&
          typeof r.target === 'string' && /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?(\/\S*)?$/.test(r.target) &&
          ['admin', 'operator', 'viewer', 'anonymous'].includes(r.access as string);
        if (!ok) return fail(29, 'configuration.reverseProxy entries need apiPath, an http://localhost target and an access level');
        reverseProxy.push({ apiPath: r.apiPath as string, target: r.target as string, access: r.access as ReverseProxyEntry['access'] });
      }
    }
  } else if (conf) {
    if (!conf.APPNAME || !conf.VENDOR || !conf.APPMAJORVERSION) return fail(29, 'package.conf lacks APPNAME, VENDOR or version');
    if (conf.APPUSR === 'root' || conf.APPGRP === 'root') return fail(13, 'package.conf asks for root (APPUSR/APPGRP)');
    const link = /href="([^"]+)"/.exec(conf.VENDORHOMEPAGELINK ?? '')?.[1];
    setup = {
      appName: conf.APPNAME,
      friendlyName: conf.PACKAGENAME,
      vendor: conf.VENDOR,
      version: [conf.APPMAJORVERSION, conf.APPMINORVERSION ?? '0', conf.APPMICROVERSION ?? '0'].join('.'),
      appId: conf.APPID,
      architecture: conf.APPTYPE,
      runMode: conf.STARTMODE,
      settingPage: conf.SETTINGSPAGEFILE || undefined,
      vendorUrl: link,
    };
  } else {
    return fail(29, 'neither manifest.json nor package.conf');
  }
  const appName = setup.appName as string;
  const version = setup.version as string;
  if (!APP_NAME.test(appName)) return fail(29, `appName ${appName} invalid`);
  if (!SEMVER.test(version)) return fail(29, `version ${version} is not semver`);
  // Either declaration of a foreign architecture makes the package incompatible.
  const archs = [setup.architecture, conf?.APPTYPE].filter((a): a is string => typeof a === 'string' && a !== '');
  for (const a of archs) if (a !== 'all' && a !== 'noarch' && a !== cameraArch) return fail(5, `built for ${a}, camera is ${cameraArch}`);
  return {
    ok: true,
    appName,
    friendlyName: typeof setup.friendlyName === 'string' && setup.friendlyName ? setup.friendlyName : appName,
    vendor: setup.vendor as string,
    vendorId: typeof setup.vendorId === 'string' ? setup.vendorId : undefined,
    version,
    appId: typeof setup.appId === 'string' ? setup.appId : '',
    architecture: archs[0] ?? 'all',
    runMode: typeof setup.runMode === 'string' ? setup.runMode : 'never',
    reverseProxy,
    compatibleOsVersions: Array.isArray(setup.compatibleOsVersions) ? (setup.compatibleOsVersions as { min?: string; max?: string }[]) : undefined,
    settingPage: typeof setup.settingPage === 'string' ? setup.settingPage : undefined,
    vendorUrl: typeof setup.vendorUrl === 'string' ? setup.vendorUrl : undefined,
    entries,
  };
}

// ---- What AXIS OS can load ---------------------------------------------------------------------
// The simulated camera's own ELF reader (64-bit little-endian, as aarch64 programs are): the loader
// a program asks for (PT_INTERP), the libraries it needs (DT_NEEDED) and where it looks for them
// (DT_RPATH / DT_RUNPATH). Independent of main/packaging (which asks binutils' readelf).

/** The loader path this simulated AXIS OS has (the aarch64 ABI's, as Yocto installs it). */
export const SIM_LOADERS: ReadonlySet<string> = new Set(['/lib/ld-linux-aarch64.so.1']);

/** Shared libraries the simulated firmware provides: glibc, the compiler runtime, the ACAP SDK's APIs and open-source libraries. */
export const SIM_SYSTEM_LIBRARIES: ReadonlySet<string> = new Set([
  'ld-linux-aarch64.so.1', 'libc.so.6', 'libm.so.6', 'libpthread.so.0', 'libdl.so.2', 'librt.so.1', 'libresolv.so.2', 'libgcc_s.so.1', 'libstdc++.so.6',
  'libaxevent.so.1', 'libaxparameter.so.1', 'liblarod.so.1', 'libvdostream.so.1', 'libaxoverlay.so.1', 'libbbox.so.1', 'libaxstorage.so.1', 'liblicensekey.so.1', 'libaxserialport.so.1', 'libmdb.so.0',
  'libcairo.so.2', 'libcurl.so.4', 'libfcgi.so.0', 'libjansson.so.4', 'libOpenCL.so.1', 'libssl.so.3', 'libcrypto.so.3',
  'libglib-2.0.so.0', 'libgio-2.0.so.0', 'libgobject-2.0.so.0', 'libgmodule-2.0.so.0', 'libgthread-2.0.so.0',
]);

export interface ElfInfo {
  machine: number;
  interpreter?: string;
  needed: string[];
  rpath?: string;
  runpath?: string;
}

/** Reads an ELF64 LE file's loader, needed libraries and search paths; undefined when it is not one. Throws on a damaged header. */
export function readElf(b: Buffer): ElfInfo | undefined {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) return undefined;
  if (b[4] !== 2 || b[5] !== 1) throw new Error('not a 64-bit little-endian ELF');
  const machine = b.readUInt16LE(18);
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  if (phoff + phnum * phentsize > b.length || phentsize < 56) throw new Error('program headers run past the end');
  const loads: { vaddr: number; off: number; filesz: number }[] = [];
  let interpreter: string | undefined;
  let dyn: { off: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const type = b.readUInt32LE(p);
    const off = Number(b.readBigUInt64LE(p + 8));
    const vaddr = Number(b.readBigUInt64LE(p + 16));
    const filesz = Number(b.readBigUInt64LE(p + 32));
    if (off + filesz > b.length) throw new Error('a segment runs past the end');
    if (type === 1) loads.push({ vaddr, off, filesz });
    else if (type === 3) interpreter = cstr(b, off, filesz);
    else if (type === 2) dyn = { off, size: filesz };
  }
  const info: ElfInfo = { machine, interpreter, needed: [] };
  if (!dyn) return info;
  // Dynamic entries point into the string table by virtual address: map it through PT_LOAD.
  const entries: [number, number][] = [];
  let strtab: number | undefined;
  for (let p = dyn.off; p + 16 <= dyn.off + dyn.size; p += 16) {
    const tag = Number(b.readBigInt64LE(p));
    const val = Number(b.readBigUInt64LE(p + 8));
    if (tag === 0) break;
    if (tag === 5) strtab = val;
    entries.push([tag, val]);
  }
  const seg = loads.find((l) => strtab !== undefined && strtab >= l.vaddr && strtab < l.vaddr + l.filesz);
  if (strtab === undefined || !seg) throw new Error('no string table for the dynamic section');
  const str = (o: number): string => cstr(b, seg.off + (strtab! - seg.vaddr) + o, 4096);
  for (const [tag, val] of entries) {
    if (tag === 1) info.needed.push(str(val));
    else if (tag === 15) info.rpath = str(val);
    else if (tag === 29) info.runpath = str(val);
  }
  return info;
}

/**
 * Whether the firmware could start the package's program: the loader it asks for exists, and every
 * library it (or a bundled library) needs is part of the firmware or in the package's lib/ with an
 * RPATH/RUNPATH of $ORIGIN/lib. Programs that are not ELF (shell scripts) are not checked here.
 */
export function checkLoadable(entries: readonly EapEntry[], appName: string): { ok: true } | { ok: false; reason: string } {
  const exe = entries.find((e) => e.name === appName);
  let info: ElfInfo | undefined;
  try {
    info = exe ? readElf(exe.data) : undefined;
  } catch (e) {
    return { ok: false, reason: `${appName} is a damaged ELF file (${(e as Error).message})` };
  }
  if (!info) return { ok: true };
  if (info.machine !== 183) return { ok: false, reason: `${appName} is not an aarch64 program (ELF machine ${info.machine})` };
  if (!info.interpreter) return { ok: true }; // static
  if (!SIM_LOADERS.has(info.interpreter)) return { ok: false, reason: `${appName} asks for the loader ${info.interpreter}, which AXIS OS does not have (it has ${[...SIM_LOADERS].join(', ')})` };
  const paths = `${info.rpath ?? ''}:${info.runpath ?? ''}`.split(':');
  const libDir = paths.includes('$ORIGIN/lib') || paths.includes('${ORIGIN}/lib');
  const bundled = new Map(entries.filter((e) => /^lib\/[^/]+$/.test(e.name)).map((e) => [e.name.slice(4), e]));
  const queue = info.needed.map((n) => ({ lib: n, by: appName }));
  const seen = new Set<string>();
  while (queue.length) {
    const { lib, by } = queue.shift()!;
    if (seen.has(lib) || SIM_SYSTEM_LIBRARIES.has(lib)) continue;
    seen.add(lib);
    const e = libDir ? bundled.get(lib) : undefined;
    if (!e) return { ok: false, reason: `${by} needs ${lib}, which is neither part of AXIS OS nor in the package's lib/${libDir ? '' : ' (the program has no RPATH $ORIGIN/lib)'}` };
    let li: ElfInfo | undefined;
    try {
      li = readElf(e.data);
    } catch (err) {
      return { ok: false, reason: `lib/${lib} is a damaged ELF file (${(err as Error).message})` };
    }
    if (!li || li.machine !== 183) return { ok: false, reason: `lib/${lib} is not an aarch64 shared library` };
    for (const n of li.needed) queue.push({ lib: n, by: `lib/${lib}` });
  }
  return { ok: true };
}

/**
 * Whether the firmware version lies in one of the manifest's compatibleOsVersions ranges. A bound
 * compares only the parts it names: max "13" admits every 13.x, min "12.11" starts at 12.11.
 */
export function osCompatible(ranges: readonly { min?: string; max?: string }[] | undefined, firmware: string): boolean {
  if (!ranges) return true;
  const fw = firmware.split('.').map(Number);
  const cmp = (bound: string): number => {
    const b = bound.split('.').map(Number);
    for (let i = 0; i < b.length; i++) {
      const d = (fw[i] ?? 0) - (b[i] ?? 0);
      if (d) return d;
    }
    return 0;
  };
  return ranges.some((r) => (r.min === undefined || cmp(r.min) >= 0) && (r.max === undefined || cmp(r.max) <= 0));
}
