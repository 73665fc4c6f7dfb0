// The envelope every VAPIX JSON API shares: {apiVersion, context, method, params} in, {apiVersion,
// context, method, data | error} out, errors as HTTP 200 with the common codes; getSupportedVersions
// answers without an apiVersion in the request.
import { methodNotAllowed, readBody, roleAllows, send, type Auth, type Req, type Res, type Role, type Route } from './http-kit';
import type { SimUser } from './types';

/** Error codes by meaning: the common set (MQTT, systemready, …) and the older sets some APIs keep. */
export const JSON_ERR = { internal: 1100, versionNotSupported: 2100, badJson: 2101, methodNotSupported: 2102, missingParam: 2103, badParam: 2104 } as const;
export type ErrorKind = keyof typeof JSON_ERR;
export type ErrorCodes = Record<ErrorKind, number>;
/**
 * The older set: basic-device-info, api-discovery and io-port-management (1000 invalid parameter,
 * 2001 access forbidden, 2002 only POST, 2003 version, 2004 method, 4000 JSON, 4002 missing, 8000 internal).
 */
export const DISCOVERY_ERR: ErrorCodes = { internal: 8000, versionNotSupported: 2003, badJson: 4000, methodNotSupported: 2004, missingParam: 4002, badParam: 1000 };
/** The older set's answer to a request that is not a POST (as JSON, HTTP 200). */
export const DISCOVERY_ONLY_POST = 2002;
/** stream-profiles. */
export const STREAM_PROFILE_ERR: ErrorCodes = { internal: 1100, versionNotSupported: 2000, badJson: 2001, methodNotSupported: 2005, missingParam: 2001, badParam: 1000 };
const MAX_JSON = 64 * 1024;
const DOC_LINK = 'https://developer.axis.com/vapix/';

/** Thrown by a handler: `kind` maps to the API's own code, or a number is an API-specific code. */
export class JsonApiError extends Error {
  constructor(
    readonly kind: ErrorKind | number,
    message: string,
  ) {
    super(message);
  }
}

/** How API discovery lists an API. */
export interface ApiDescription {
  id: string;
  version: string;
  name: string;
  docLink: string;
  status?: string;
}

export interface JsonApiSpec {
  path: string;
  /** API discovery id and name; `hidden` keeps it out of the list (as firmware hides internal APIs). */
  id: string;
  name: string;
  /** Every version served, oldest first; the last is the one discovery reports. */
  versions: readonly string[];
  /** What the path needs before the body is read ('by-method' when some methods are anonymous). */
  need: Role | 'by-method';
  /** The role per method (only asked for 'by-method' APIs; getSupportedVersions is always allowed once the path is). */
  methodNeed?: (method: string) => Role;
  /** The first AXIS OS version with this API. */
  since?: string;
  /** The API's error codes (the common set when absent). */
  codes?: ErrorCodes;
  /** A JSON error code for a request that is not a POST; absent: HTTP 405. */
  onlyPostCode?: number;
  handle(method: string, params: Record<string, unknown>, user: SimUser | undefined, apiVersion: string): unknown;
}

export function jsonRoute(auth: Auth, spec: JsonApiSpec): Route {
  const current = spec.versions[spec.versions.length - 1]!;
  return {
    path: spec.path,
    need: spec.need,
    ...(spec.since ? { since: spec.since } : {}),
    api: { id: spec.id, version: current, name: spec.name, docLink: DOC_LINK },
    handle: (req, res, _url, user) => serveJsonApi(req, res, auth, user, spec),
  };
}

async function serveJsonApi(req: Req, res: Res, auth: Auth, user: SimUser | undefined, spec: JsonApiSpec): Promise<void> {
  const current = spec.versions[spec.versions.length - 1]!;
  if (req.method !== 'POST') {
    if (spec.onlyPostCode === undefined) return methodNotAllowed(res, 'POST');
    req.resume();
    return send(res, 200, 'application/json', JSON.stringify({ apiVersion: current, error: { code: spec.onlyPostCode, message: 'HTTP request type not supported. Only POST is supported' } }));
  }
  const codes = spec.codes ?? JSON_ERR;
  const err = (kind: ErrorKind | number, message: string): { error: { code: number; message: string } } => ({ error: { code: typeof kind === 'number' ? kind : codes[kind], message } });
  const body = await readBody(req, MAX_JSON);
  // Digest clients (curl among them) probe with an empty body first: that must get the challenge.
  if (body && body.length === 0 && !user) return auth.challenge(res);
  let msg: { apiVersion?: unknown; context?: unknown; method?: unknown; params?: unknown } | undefined;
  try {
    msg = body ? (JSON.parse(body.toString('utf8')) as typeof msg) : undefined;
  } catch {
    msg = undefined;
  }
  const reply = (obj: Record<string, unknown>): void => send(res, 200, 'application/json', JSON.stringify({ apiVersion: current, ...obj }));
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
    // Only reachable on APIs with anonymous methods: the others asked for credentials before reading.
    return reply(err('badJson', 'JSON input error'));
  }
  const context = typeof msg.context === 'string' ? { context: msg.context } : {};
  const method = typeof msg.method === 'string' ? msg.method : '';
  const need = spec.need === 'by-method' ? (method === 'getSupportedVersions' ? 'anonymous' : (spec.methodNeed?.(method) ?? 'viewer')) : spec.need;
  if (!roleAllows(user, need)) return user ? auth.forbid(res, user) : auth.challenge(res);
  const asked = typeof msg.apiVersion === 'string' ? msg.apiVersion : undefined;
  if (method === 'getSupportedVersions') {
    // The one method that needs no apiVersion: a client asks it before it knows which to send.
    return reply({ ...context, method, data: { apiVersions: [...spec.versions] } });
  }
  if (asked === undefined) return reply({ ...context, method, ...err('missingParam', 'Required parameter missing: apiVersion') });
  const m = /^(\d+)\.(\d+)$/.exec(asked);
  const [maj, min] = current.split('.').map(Number) as [number, number];
  // A client may ask for any minor version up to the newest of the same major.
  if (!m || Number(m[1]) !== maj || Number(m[2]) > min) return reply({ ...context, method, ...err('versionNotSupported', `The requested API version ${asked} is not supported`) });
  if (msg.params !== undefined && (typeof msg.params !== 'object' || msg.params === null || Array.isArray(msg.params))) {
    return reply({ ...context, method, ...err('badParam', 'params must be an object') });
  }
  const params = (msg.params ?? {}) as Record<string, unknown>;
  try {
    const data = spec.handle(method, params, user, asked);
    reply({ ...context, method, data });
  } catch (e) {
    if (e instanceof JsonApiError) reply({ ...context, method, ...err(e.kind, e.message) });
    else reply({ ...context, method, ...err('internal', 'Internal error') });
  }
}

export const unsupported = (method: string): never => {
  throw new JsonApiError('methodNotSupported', `Method not supported: ${method}`);
};
