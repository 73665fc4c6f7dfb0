// Access rights as firmware exposes them: pwdgrp.cgi (groups and their members, administrators) and
// usergroup.cgi (the calling user's own groups, any authenticated user).
import { methodNotAllowed, readBody, send, type Route } from './http-kit';
import type { SimUser } from './types';

const MAX_FORM = 16 * 1024;

/** Secondary groups of a role, in the order firmware prints them. */
const groupsOf = (u: SimUser): string[] => {
  const base = u.role === 'administrator' ? ['admin', 'operator', 'viewer'] : u.role === 'operator' ? ['operator', 'viewer'] : ['viewer'];
  // root also has ptz rights (and its own primary group).
  return u.username === 'root' ? ['admin', 'operator', 'ptz', 'viewer'] : base;
};

export function userRoutes(o: { users: () => readonly SimUser[] }): Route[] {
  const members = (group: string): string =>
    o
      .users()
      .filter((u) => groupsOf(u).includes(group))
      .map((u) => u.username)
      .join(',');
  const pwdgrpGet = (): string => {
    const users = o.users();
    const lines = [
      `admin="${members('admin')}"`,
      'anonymous=""',
      'api-discovery=""',
      'basic-device-info=""',
      `operator="${members('operator')}"`,
      `ptz="${members('ptz')}"`,
      'root="root"',
      `users="${users.filter((u) => u.username !== 'root').map((u) => u.username).join(',')}"`,
      `viewer="${members('viewer')}"`,
      `digusers="${users.map((u) => u.username).join(',')}"`,
    ];
    return `${lines.join('\n')}\n`;
  };
  return [
    {
      path: '/axis-cgi/pwdgrp.cgi',
      need: 'administrator',
      handle: async (req, res, url) => {
        if (req.method !== 'GET' && req.method !== 'POST') return methodNotAllowed(res, 'GET, POST');
        const form = new URLSearchParams(url.search);
        if (req.method === 'POST') {
          const body = await readBody(req, MAX_FORM);
          for (const [k, v] of new URLSearchParams(body?.toString('utf8') ?? '')) form.set(k, v);
        }
        const action = form.get('action');
        if (action === 'get') return send(res, 200, 'text/plain', pwdgrpGet());
        // The simulated fleet's accounts are fixed by its descriptors: changing them is refused plainly.
        if (action === 'add' || action === 'update' || action === 'remove') return send(res, 200, 'text/html', '<html><body><h1>Error: this simulated camera does not change its accounts</h1></body></html>\n');
        return send(res, 200, 'text/html', `<html><body><h1>Error: unknown action '${action ?? ''}'</h1></body></html>\n`);
      },
    },
    {
      path: '/axis-cgi/usergroup.cgi',
      need: 'viewer',
      handle: (req, res, _url, user) => {
        if (req.method !== 'GET' && req.method !== 'POST') return methodNotAllowed(res, 'GET, POST');
        const u = user!;
        const primary = u.username === 'root' ? 'root' : 'users';
        send(res, 200, 'text/plain', `${u.username}\n${[primary, ...groupsOf(u)].join(' ')}\n`);
      },
    },
  ];
}
