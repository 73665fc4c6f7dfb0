export type NativeAbi = { kind: 'abi'; abi: number } | { kind: 'ambiguous'; abis: number[] } | { kind: 'node-api' } | { kind: 'unknown' };
export function readNativeAbi(bytes: Buffer): NativeAbi;
export function electronAbi(electronPkgDir: string): number;
export function checkNativeAbi(file: string, neededAbi: number, runtime?: string): { ok: boolean; file: string; found: string; reason?: string };
