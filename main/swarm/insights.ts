// The coordinator's record of its own decisions, and the patterns worth telling a person about.
// In memory: a ring of recent decisions and running counts. Persisting them is the service's job.
import type { SwarmDecision } from '../../preload/contract';
import type { FusionOutput, ZoneStatus } from './fusion';

export type Decision = SwarmDecision;
export interface Pattern {
  kind: 'overruled_camera' | 'zone_without_quorum' | 'zone_lacks_liveness' | 'camera_quarantined';
  subject: string;
  message: string;
  suggestion: string;
}

export interface InsightOptions {
  now: () => number;
  ringSize?: number;
  /** Decisions a camera must have taken part in before its overrule rate is judged. */
  minSamples?: number;
  /** Reported candidates a zone must have had before "never reaches quorum" is said. */
  minZoneCandidates?: number;
}

export interface Insights {
  /** Turns fusion outputs into decisions; returns them (for persistence). */
  record(outputs: readonly FusionOutput[]): Decision[];
  released(camera: string, note?: string): Decision;
  recent(n: number): Decision[];
  byRule(): Record<string, number>;
  patterns(zones: readonly ZoneStatus[], quarantined: readonly string[]): Pattern[];
}

const median = (xs: number[]): number => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (x: number): string => `${Math.round(x * 100)}%`;

export function createInsights(opts: InsightOptions): Insights {
  const ringSize = opts.ringSize ?? 1_000;
  const minSamples = opts.minSamples ?? 10;
  const minZone = opts.minZoneCandidates ?? 5;
  const ring: Decision[] = [];
  let head = 0;
  const rules = new Map<string, number>();
  const cams = new Map<string, { decisions: number; overruled: number }>();
  const zones = new Map<string, { candidates: number; confirmed: number }>();

  const push = (d: Decision): Decision => {
    if (ring.length < ringSize) ring.push(d);
    else {
      ring[head] = d;
      head = (head + 1) % ringSize;
    }
    rules.set(d.rule, (rules.get(d.rule) ?? 0) + 1);
    return d;
  };
  const cam = (id: string) => {
    let c = cams.get(id);
    if (!c) cams.set(id, (c = { decisions: 0, overruled: 0 }));
    return c;
  };
  const zone = (id: string) => {
    let z = zones.get(id);
    if (!z) zones.set(id, (z = { candidates: 0, confirmed: 0 }));
    return z;
  };

  return {
    record(outputs) {
      const out: Decision[] = [];
      const at = opts.now();
      for (const o of outputs) {
        if (o.type === 'confirmed') {
          const e = o.event;
          out.push(push({ at, rule: 'confirmed_f_plus_1', zone: e.zone, cls: e.cls, confirmed: e.confirmers, overruled: [], quarantined: [], note: `${e.confirmers.length} of ${e.n} covering cameras reported it within the window; f+1 = ${e.f + 1} needed` }));
        } else if (o.type === 'closed') {
          const e = o.event;
          zone(e.zone).candidates++;
          zone(e.zone).confirmed++;
          for (const c of e.confirmers) cam(c).decisions++;
          for (const c of e.disagreed) {
            cam(c).decisions++;
            cam(c).overruled++;
          }
          out.push(push({ at, rule: 'closed', zone: e.zone, cls: e.cls, confirmed: e.confirmers, overruled: e.disagreed, quarantined: [], note: e.disagreed.length ? `${e.disagreed.length} camera(s) were looking and did not report it` : 'every looking camera agreed' }));
        } else if (o.type === 'unconfirmed') {
          zone(o.zone).candidates++;
          for (const c of o.reporters) {
            cam(c).decisions++;
            if (o.overruled) cam(c).overruled++;
          }
          for (const c of o.silent) cam(c).decisions++;
          out.push(
            push({
              at,
              rule: o.overruled ? 'overruled_by_quorum' : 'not_confirmed',
              zone: o.zone,
              cls: o.cls,
              confirmed: [],
              overruled: o.overruled ? o.reporters : [],
              quarantined: [],
              note: o.overruled
                ? `${o.reporters.length} report(s) against ${o.silent.length} silent cameras that were looking; f+1 = ${o.f + 1} needed`
                : `only ${o.reporters.length} camera(s) reported it; f+1 = ${o.f + 1} needed`,
            }),
          );
        } else {
          out.push(push({ at, rule: 'equivocation_quarantine', zone: null, cls: null, confirmed: [], overruled: [], quarantined: [o.proof.camera], note: o.proof.reason }));
        }
      }
      return out;
    },
    released: (camera, note) =>
      push({ at: opts.now(), rule: 'released', zone: null, cls: null, confirmed: [], overruled: [], quarantined: [camera], note: note ?? 'released by the user' }),
    recent(n) {
      const ordered = ring.length < ringSize ? ring : [...ring.slice(head), ...ring.slice(0, head)];
      return ordered.slice(-n).reverse();
    },
    byRule: () => Object.fromEntries(rules),
    patterns(zoneStatus, quarantined) {
      const out: Pattern[] = [];
      // A camera overruled far more often than its peers: compare with the median rate of the others.
      const rated = [...cams.entries()].filter(([, c]) => c.decisions >= minSamples).map(([id, c]) => ({ id, rate: c.overruled / c.decisions, ...c }));
      for (const c of rated) {
        const peers = median(rated.filter((p) => p.id !== c.id).map((p) => p.rate));
        if (rated.length >= 2 && c.rate >= 0.2 && c.rate >= 3 * peers)
          out.push({
            kind: 'overruled_camera',
            subject: c.id,
            message: `Camera ${c.id} was overruled in ${c.overruled} of ${c.decisions} decisions (${pct(c.rate)}; its peers' median is ${pct(peers)}).`,
            suggestion: `Look at ${c.id}'s live view and detections: a moved or dirty lens, a wrong zone mapping or a weak model makes a camera disagree. Fix and redeploy it; if its reports are invented, remove its key.`,
          });
      }
      for (const z of zoneStatus) {
        const s = zones.get(z.zone);
        if (s && s.candidates >= minZone && s.confirmed === 0)
          out.push({
            kind: 'zone_without_quorum',
            subject: z.zone,
            message: `Zone ${z.zone} had ${s.candidates} reported events and none reached f+1 = ${z.f + 1} cameras.`,
            suggestion: `Check that the ${z.n} camera(s) covering ${z.zone} really see it (aim, zone mapping), or add a camera covering it.`,
          });
        if (z.lacksLiveness)
          out.push({
            kind: 'zone_lacks_liveness',
            subject: z.zone,
            message: `Zone ${z.zone} has ${z.healthy} healthy covering camera(s); ${2 * z.f + 1} are needed to confirm events with ${z.f} faulty.`,
            suggestion: z.healthy < z.n ? `Bring the down or quarantined cameras covering ${z.zone} back, or add one.` : `Add a camera covering ${z.zone}.`,
          });
      }
      for (const q of quarantined)
        out.push({
          kind: 'camera_quarantined',
          subject: q,
          message: `Camera ${q} sent two conflicting signed reports and is quarantined; its reports do not count.`,
          suggestion: `Compare the two signed reports in its proof. If it was a fault you have fixed (e.g. a firmware bug), release it; if not, remove its key.`,
        });
      return out;
    },
  };
}
