// The envelope every VAPIX JSON API shares: {apiVersion, context, method, params} in, {apiVersion,
// context, method, data | error} out, errors as HTTP 200 with the common codes.
import { methodNotAllowed, readBody, send, type Authorise, type Req, type Res, type Role } from './http-kit';

export const JSON_ERR = { versionNotSupported: 2100, badJson: 2101, methodNotSupported: 2102, missingParam: 2103, badParam: 2104 } as const;
const MAX_JSON = 64 * 1024;

export class JsonApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface JsonApi {
  version: string;
  need: (method: string) => Role;
  handle: (method: string, params: Record<string, unknown>) => unknown;
}

export async function serveJsonApi(req: Req, res: Res, authorise: Authorise, api: JsonApi): Promise<void> {
  const { version } = api;
  if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
  const body = await readBody(req, MAX_JSON);
  let msg: { apiVersion?: unknown; context?: unknown; method?: unknown; params?: unknown } | undefined;
  try {
    msg = body ? (JSON.parse(body.toString('utf8')) as typeof msg) : undefined;
  } catch {
    msg = undefined;
  }
  const reply = (obj: Record<string, unknown>): void => send(res, 200, 'application/json', JSON.stringify({ apiVersion: version, ...obj }));
  // Digest clients (curl among them) probe with an empty body first: that must get the challenge.
  if (body && body.length === 0 && !authorise(req, res, 'viewer')) return;
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
    // Axis answers even unreadable requests without asking for credentials first.
    reply({ error: { code: JSON_ERR.badJson, message: 'JSON input error' } });
    return;
  }
  const context = typeof msg.context === 'string' ? { context: msg.context } : {};
  const method = typeof msg.method === 'string' ? msg.method : '';
  if (!authorise(req, res, api.need(method))) return;
  if (typeof msg.apiVersion !== 'string' || !/^\d+(\.\d+)?$/.test(msg.apiVersion)) {
    reply({ ...context, method, error: { code: JSON_ERR.missingParam, message: 'apiVersion is required' } });
    return;
  }
  if (msg.apiVersion.split('.')[0] !== version.split('.')[0]) {
    reply({ ...context, method, error: { code: JSON_ERR.versionNotSupported, message: `The requested API version ${msg.apiVersion} is not supported` } });
    return;
  }
  const params = msg.params && typeof msg.params === 'object' && !Array.isArray(msg.params) ? (msg.params as Record<string, unknown>) : {};
  try {
    const data = api.handle(method, params);
    reply({ ...context, method, data });
  } catch (e) {
    const code = e instanceof JsonApiError ? e.code : 1100;
    reply({ ...context, method, error: { code, message: e instanceof JsonApiError ? e.message : 'Internal error' } });
  }
}
