// Which runtime a compiled Node add-on (.node) was built for, read from the binary itself: an add-on
// built against V8 directly exports node_register_module_v<NODE_MODULE_VERSION> (node.h's
// NODE_MODULE_INITIALIZER), a Node-API add-on exports napi_register_module_v1 and loads under any
// ABI. The names sit in the export table as plain bytes in ELF, Mach-O (with a leading underscore)
// and PE alike, so a byte search reads all three without a parser per format.
import fs from 'node:fs';
import path from 'node:path';

/** @param {Buffer} bytes */
export function readNativeAbi(bytes) {
  const text = bytes.toString('latin1');
  const v8 = new Set([...text.matchAll(/node_register_module_v(\d{2,4})\b/g)].map((m) => Number(m[1])));
  if (v8.size === 1) return { kind: 'abi', abi: [...v8][0] };
  if (v8.size > 1) return { kind: 'ambiguous', abis: [...v8].sort((a, b) => a - b) };
  if (text.includes('napi_register_module_v1')) return { kind: 'node-api' };
  return { kind: 'unknown' };
}

/** The NODE_MODULE_VERSION an Electron version needs, from the electron package's own abi_version file. */
export function electronAbi(electronPkgDir) {
  const abi = Number(fs.readFileSync(path.join(electronPkgDir, 'abi_version'), 'utf8').trim());
  if (!Number.isInteger(abi)) throw new Error(`${electronPkgDir}/abi_version does not hold a number`);
  return abi;
}

/**
 * Checks one add-on against the ABI the app's runtime needs.
 * @returns {{ ok: boolean, file: string, found: string, reason?: string }}
 */
export function checkNativeAbi(file, neededAbi, runtime = 'Electron') {
  const found = readNativeAbi(fs.readFileSync(file));
  const name = path.basename(file);
  if (found.kind === 'node-api') return { ok: true, file, found: 'Node-API (any ABI)' };
  if (found.kind === 'abi' && found.abi === neededAbi) return { ok: true, file, found: `ABI ${found.abi}` };
  if (found.kind === 'abi')
    return {
      ok: false,
      file,
      found: `ABI ${found.abi}`,
      reason: `${name} was built for NODE_MODULE_VERSION ${found.abi}${found.abi === Number(process.versions.modules) ? ` (this Node, ${process.version})` : ''}, but ${runtime} needs ${neededAbi}: it would fail to load at start. Build it for ${runtime} (npm run rebuild:electron) instead of shipping the Node build.`,
    };
  if (found.kind === 'ambiguous') return { ok: false, file, found: `ABIs ${found.abis.join(', ')}`, reason: `${name} names several ABIs (${found.abis.join(', ')}); cannot tell which it needs.` };
  return { ok: false, file, found: 'unknown', reason: `${name} exports neither node_register_module_v<N> nor napi_register_module_v1: not a Node add-on, or stripped of its exports.` };
}
