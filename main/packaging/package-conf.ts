// package.conf and param.conf, generated from a validated manifest the way the ACAP SDK lays them
// out: one KEY="value" per line. The firmware sources package.conf as shell, so values are quoted
// and the characters the shell would still expand inside double quotes are escaped.
import { ManifestError, parseSemver, type Manifest } from './manifest';

function quote(key: string, value: string): string {
  if (/[\r\n\0]/.test(value)) throw new ManifestError([`${key}: must be a single line`]);
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/**
 * package.conf in the order and with the defaults acap-build uses (as AxisCommunications/acap-rs
 * documents its parameter table): REQEMBDEVVERSION comes from embeddedSdkVersion and is "2.0" when
 * the manifest has none (schema 2.x removed the field), VENDORHOMEPAGELINK is a single-quoted link
 * whose text is the URL without its scheme, HTTPCGIPATHS names cgi.conf when the manifest declares
 * httpConfig, OTHERFILES lists the extra root-level files acap-build would be given with -a.
 */
export function packageConf(manifest: Manifest, defaultArch = 'aarch64', otherFiles: readonly string[] = []): string {
  const setup = manifest.acapPackageConf.setup;
  const v = parseSemver(setup.version);
  const conf = manifest.acapPackageConf.configuration;
  const sdk = 'embeddedSdkVersion' in setup && setup.embeddedSdkVersion ? setup.embeddedSdkVersion : '2.0';
  const link = setup.vendorUrl ? `<a href="${setup.vendorUrl}" target="_blank">${setup.vendorUrl.replace(/^https?:\/\//, '')}</a>` : '';
  if (link.includes("'")) throw new ManifestError(['acapPackageConf.setup.vendorUrl: must not contain a single quote']);
  const lines: [string, string][] = [
    ['PACKAGENAME', setup.friendlyName ?? setup.appName],
    ['APPTYPE', setup.architecture ?? defaultArch],
    ['APPNAME', setup.appName],
    ['APPID', setup.appId ?? ''],
    ['LICENSENAME', 'Available'],
    ['LICENSEPAGE', manifest.acapPackageConf.copyProtection?.method ?? 'none'],
    ['VENDOR', setup.vendor],
    ['REQEMBDEVVERSION', sdk],
    ['APPMAJORVERSION', String(v.major)],
    ['APPMINORVERSION', String(v.minor)],
    ['APPMICROVERSION', String(v.patch)],
    ['APPGRP', setup.user?.group ?? 'sdk'],
    ['APPUSR', setup.user?.username ?? 'sdk'],
    ['APPOPTS', setup.runOptions ?? ''],
    ['OTHERFILES', otherFiles.join(' ')],
    ['SETTINGSPAGEFILE', conf?.settingPage ?? ''],
    ['SETTINGSPAGETEXT', ''],
    ['VENDORHOMEPAGELINK', link],
    ['PREUPGRADESCRIPT', ''],
    ['POSTINSTALLSCRIPT', manifest.acapPackageConf.installation?.postInstallScript ?? ''],
    ['STARTMODE', setup.runMode],
    ['HTTPCGIPATHS', conf?.httpConfig?.length ? 'cgi.conf' : ''],
  ];
  return lines.map(([k, val]) => (k === 'VENDORHOMEPAGELINK' ? `${k}='${val}'` : `${k}=${quote(k, val)}`)).join('\n') + '\n';
}

export function paramConf(manifest: Manifest): string {
  const params = manifest.acapPackageConf.configuration?.paramConfig ?? [];
  return params.map((p) => `${p.name}=${quote(p.name, p.default)} type=${quote(p.name, p.type)}`).join('\n') + (params.length ? '\n' : '');
}

/** Reads KEY="value" lines (as written above, or by the ACAP SDK). Unparseable lines are reported. */
export function parsePackageConf(text: string): { values: Record<string, string>; problems: string[] } {
  const values: Record<string, string> = {};
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^([A-Z][A-Z0-9_]*)=(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']*))$/.exec(line);
    if (!m) {
      problems.push(`package.conf line ${i + 1}: expected KEY="value"`);
      return;
    }
    values[m[1]!] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? m[4] ?? '');
  });
  return { values, problems };
}
