// Public surface of the ACAP packaging module: manifest validation, package.conf/param.conf,
// the reproducible .eap writer, the defensive .eap reader, and the native/ build.
export { validateManifest, assertManifest, ManifestError, parseSemver, manifestV1Schema, manifestV2Schema } from './manifest';
export type { Manifest, ManifestV1, ManifestV2, ManifestResult } from './manifest';
export { packageConf, paramConf, parsePackageConf } from './package-conf';
export { buildEap, readEap, eapFileName, EapError, DEFAULT_SOURCE_DATE_EPOCH } from './eap';
export type { BuildEapInput, BuiltEap, EapEntry, EapExtraFile, EapInfo, ReadEapOptions } from './eap';
export { buildNativeApp } from './native-build';
export type { NativeBuildOptions, NativeBuildResult } from './native-build';
export { checkCameraBuild, parseReadelf, elfFacts, CameraBuildError } from './camera-check';
export type { CameraCheckResult, ElfFacts, Readelf } from './camera-check';
export { AXIS_OS_LOADER, AXIS_OS_LIBRARIES, glibcCeiling, oldestClaimedOs, compareVersions } from './axis-os';
