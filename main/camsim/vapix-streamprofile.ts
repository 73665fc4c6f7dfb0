// Stream profiles (streamprofile.cgi): named sets of video arguments, kept in the parameter tree
// (root.StreamProfile.S<n>) as firmware keeps them.
import type { Auth, Route } from './http-kit';
import { JsonApiError, jsonRoute, STREAM_PROFILE_ERR, unsupported } from './json-api';
import { RESOLUTIONS, type ParamStore } from './vapix-params';

interface Profile {
  name: string;
  description: string;
  parameters: string;
}

const NO_PROFILE = 2006;

export function streamProfileRoutes(o: { auth: Auth; params: ParamStore }): Route[] {
  const max = (): number => Number(o.params.get('root.StreamProfile.MaxGroups') ?? '26');
  const slots = (): string[] => [...new Set(o.params.all().map(([k]) => /^root\.StreamProfile\.(S\d+)\./.exec(k)?.[1]).filter((x): x is string => !!x))];
  const read = (slot: string): Profile => ({
    name: o.params.get(`root.StreamProfile.${slot}.Name`) ?? '',
    description: o.params.get(`root.StreamProfile.${slot}.Description`) ?? '',
    parameters: o.params.get(`root.StreamProfile.${slot}.Parameters`) ?? '',
  });
  const slotOf = (name: string): string | undefined => slots().find((s) => read(s).name === name);
  const checkProfile = (raw: unknown): Profile => {
    const e = raw as Record<string, unknown> | null;
    if (!e || typeof e !== 'object' || typeof e.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(e.name)) throw new JsonApiError('badParam', 'name must be 1-64 letters, digits, - or _');
    const description = e.description ?? '';
    const parameters = e.parameters ?? '';
    if (typeof description !== 'string' || description.length > 255) throw new JsonApiError('badParam', 'description must be a string of at most 255 characters');
    if (typeof parameters !== 'string' || parameters.length > 255) throw new JsonApiError('badParam', 'parameters must be a string of at most 255 characters');
    const res = new URLSearchParams(parameters).get('resolution');
    if (res !== null && !RESOLUTIONS.includes(res)) throw new JsonApiError('badParam', `resolution ${res} is not supported`);
    return { name: e.name, description, parameters };
  };
  const names = (p: Record<string, unknown>): string[] | undefined => {
    const list = p.streamProfileName;
    if (list === undefined) return undefined;
    if (!Array.isArray(list)) throw new JsonApiError('badParam', 'streamProfileName must be a list');
    return list.map((x: unknown) => {
      const n = (x as { name?: unknown } | null)?.name;
      if (typeof n !== 'string') throw new JsonApiError('badParam', 'each streamProfileName entry needs a name');
      return n;
    });
  };
  const write = (slot: string, p: Profile): void => {
    o.params.set(`root.StreamProfile.${slot}.Name`, p.name);
    o.params.set(`root.StreamProfile.${slot}.Description`, p.description);
    o.params.set(`root.StreamProfile.${slot}.Parameters`, p.parameters);
  };
  return [
    jsonRoute(o.auth, {
      path: '/axis-cgi/streamprofile.cgi',
      id: 'stream-profiles',
      name: 'Stream Profiles',
      versions: ['1.0'],
      codes: STREAM_PROFILE_ERR,
      need: 'by-method',
      methodNeed: (m) => (m === 'list' ? 'viewer' : 'operator'),
      handle: (method, p) => {
        switch (method) {
          case 'list': {
            const wanted = names(p);
            const all = slots().map(read);
            if (wanted && wanted.length > 0) {
              const missing = wanted.find((n) => !all.some((x) => x.name === n));
              if (missing) throw new JsonApiError(NO_PROFILE, `The requested profile does not exist: ${missing}`);
              return { maxProfiles: max(), streamProfile: all.filter((x) => wanted.includes(x.name)) };
            }
            return { maxProfiles: max(), streamProfile: all };
          }
          case 'create':
          case 'update': {
            const list = p.streamProfile;
            if (!Array.isArray(list) || list.length === 0) throw new JsonApiError('missingParam', 'streamProfile is required');
            const profiles = list.map(checkProfile);
            for (const x of profiles) {
              const at = slotOf(x.name);
              if (method === 'create' && at) throw new JsonApiError('badParam', `A profile named ${x.name} exists`);
              if (method === 'update' && !at) throw new JsonApiError(NO_PROFILE, `The requested profile does not exist: ${x.name}`);
            }
            if (method === 'create' && slots().length + profiles.length > max()) throw new JsonApiError('badParam', `At most ${max()} profiles`);
            for (const x of profiles) {
              let slot = slotOf(x.name);
              if (!slot) {
                let i = 0;
                while (slots().includes(`S${i}`)) i++;
                slot = `S${i}`;
              }
              write(slot, x);
            }
            return {};
          }
          case 'remove': {
            const wanted = names(p);
            if (!wanted || wanted.length === 0) throw new JsonApiError('missingParam', 'streamProfileName is required');
            const missing = wanted.find((n) => !slotOf(n));
            if (missing) throw new JsonApiError(NO_PROFILE, `The requested profile does not exist: ${missing}`);
            for (const n of wanted) o.params.removeGroup(`root.StreamProfile.${slotOf(n)!}`);
            return {};
          }
          default:
            return unsupported(method);
        }
      },
    }),
  ];
}
