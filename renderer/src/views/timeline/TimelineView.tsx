// The Timeline: ground tracks from every camera with their probable futures, restricted zones and
// the intervention points raised before one is entered, on a strip that can be scrubbed back.
// Live data follows the events (timeline.tracks, timeline.intervention, swarm.*); only answers no
// event announces (prediction quality, calibrations) are read again on a slow timer.
import { useEffect, useMemo, useState } from 'react';
import { isMethodName, type TimelineZone } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { useNow } from '../../data/clock';
import { useQuery } from '../../data/useQuery';
import { useCameraNames } from '../../stores/cameraNames';
import { useNav } from '../../stores/nav';
import { useFleet } from '../cameras/fleetStore';
import { clock } from './format';
import { GroundMap } from './GroundMap';
import { Interventions } from './Interventions';
import { liveCaption, pushSnapshot, snapshotAt, type Snapshot } from './model';
import { Quality } from './Quality';
import { TimeStrip, WINDOWS } from './TimeStrip';
import type { LoggedIntervention } from './types';
import './timeline.css';

const KEEP_MS = 10 * 60_000;
/** History is read once per visit for the widest window (live data covers the rest). */
const WINDOW_MAX_MS = 6 * 3_600_000;
const SLOW_MS = 5000;

export function TimelineView() {
  const hasEvents = useMemo(() => isMethodName('swarm.events'), []);
  const hasSiteZones = useMemo(() => isMethodName('swarm.zones'), []);
  const tracks = useQuery('timeline.tracks', { confirmedOnly: true }, { apply: { 'timeline.tracks': (_prev, p) => p } });
  // Interventions clear as tracks move; no event says so, so they are read again with the tracks
  // (at most twice a second).
  const ivs = useQuery('timeline.interventions', {}, { refreshOn: ['timeline.tracks', 'timeline.intervention'], minIntervalMs: 500 });
  const zones = useQuery('timeline.zones', {});
  // Prediction quality and calibrations change with no event of their own.
  const stats = useQuery('timeline.stats', {}, { pollMs: SLOW_MS });
  const cameras = useQuery('timeline.cameras', {}, { pollMs: SLOW_MS });
  const siteZones = useQuery('swarm.zones', {}, { enabled: hasSiteZones, apply: { 'swarm.zones': (_prev, z) => z } });
  const events = useQuery('swarm.events', { limit: 200 }, { enabled: hasEvents, refreshOn: ['swarm.event'], minIntervalMs: 1000 });
  const names = useCameraNames();
  // What the server kept before this view was opened (or while it was closed), for the window shown.
  const [historyFrom] = useState(() => Date.now());
  const history = useQuery('timeline.history', { from: Math.floor(historyFrom - WINDOW_MAX_MS), to: historyFrom, limit: 20_000 });
  const fleet = useFleet((s) => s.cameras);
  const [snaps, setSnaps] = useState<Snapshot[]>([]);
  const [ivLog, setIvLog] = useState<LoggedIntervention[]>([]);
  const [windowMin, setWindowMin] = useState<number>(5);
  const [cursor, setCursor] = useState<number | null>(null); // null = live
  const now = useNow();
  const [asked, setAsked] = useState<string>();
  // Opened from the event review at a moment: scrub there when it is within what is kept.
  const timelineAt = useNav((s) => s.timelineAt);
  useEffect(() => {
    if (timelineAt === undefined) return;
    useNav.setState({ timelineAt: undefined });
    const ago = Date.now() - timelineAt;
    const fits = WINDOWS.find((m) => m * 60_000 > ago * 1.05);
    if (fits !== undefined) {
      setWindowMin(fits);
      setCursor(timelineAt);
      setAsked(undefined);
    } else setAsked(`The event at ${clock(timelineAt)} is older than the ${WINDOWS[WINDOWS.length - 1]! / 60} hours the Timeline shows. Its snapshots are in Review.`);
    // Only when asked; snapshots at that moment are what they are.
  }, [timelineAt]);

  useEffect(() => {
    const t = tracks.data;
    if (t?.at) setSnaps((list) => pushSnapshot(list, t, KEEP_MS));
  }, [tracks.data]);

  // Interventions enter the log when first seen (the event, or a read that found one).
  useEffect(() => {
    const list = ivs.data ?? [];
    setIvLog((l) => {
      const known = new Set(l.map((x) => `${x.trackId}|${x.zoneId}|${x.at}`));
      const fresh = list.filter((x) => !known.has(`${x.trackId}|${x.zoneId}|${x.at}`)).map((x) => ({ ...x, seenAt: Date.now() }));
      return fresh.length ? [...l.filter((x) => x.seenAt > Date.now() - KEEP_MS), ...fresh] : l;
    });
  }, [ivs.data]);

  const historyLanes = useMemo(() => {
    const m = new Map<string, { trackId: string; from: number; to: number }[]>();
    for (const sg of history.data?.segments ?? []) {
      const lane = m.get(sg.camera) ?? [];
      lane.push({ trackId: sg.trackId, from: sg.from, to: sg.to });
      m.set(sg.camera, lane);
    }
    return m;
  }, [history.data]);
  const ivShown = useMemo(() => {
    const known = new Set(ivLog.map((x) => `${x.trackId}|${x.zoneId}|${x.at}`));
    return [...(history.data?.interventions ?? []).filter((x) => !known.has(`${x.trackId}|${x.zoneId}|${x.at}`)).map((x) => ({ ...x, seenAt: x.at })), ...ivLog];
  }, [history.data, ivLog]);
  const latest = snaps[snaps.length - 1];
  const end = Math.max(now, latest?.at ?? 0);
  const start = end - windowMin * 60_000;
  const live = cursor === null;
  const shown = live ? latest : snapshotAt(snaps, cursor);
  const current = ivs.data ?? [];
  const shownIvs = live ? current : ivLog.filter((x) => Math.abs(x.seenAt - (cursor ?? 0)) < 2000);
  const caption = live
    ? liveCaption(latest?.at, now, tracks.updatedAt)
    : `Scrubbed to ${clock(cursor ?? 0)}${shown ? '' : ' · positions are kept for the last 10 minutes this view was open; the lanes show the history'}`;
  const eventsShown = hasEvents && !events.error ? events.data?.events : undefined;
  const error = tracks.error ?? ivs.error ?? zones.error ?? stats.error ?? cameras.error;

  return (
    <section className="view timeline" aria-label="Timeline">
      <header className="view-header">
        <h1>Timeline</h1>
        <p className="muted">
          Ground tracks from every camera, their probable futures, and intervention points before a restricted zone is entered.{' '}
          {hasEvents && !events.error
            ? 'Confirmed swarm events are shown in their own lane.'
            : 'Confirmed swarm events are not available in this build: the timeline shows tracks, predictions and interventions only.'}
        </p>
      </header>
      <ErrorLine error={error} className="error" />
      {asked && (
        <p className="warn" role="status">
          {asked}
        </p>
      )}
      <TimeStrip
        snaps={snaps}
        cameras={(cameras.data ?? []).map((c) => c.cameraId)}
        names={names}
        ivLog={ivShown}
        history={historyLanes}
        events={eventsShown}
        start={start}
        end={end}
        cursor={cursor}
        onCursor={setCursor}
        windowMin={windowMin}
        onWindow={setWindowMin}
      />
      <div className="timeline-main">
        <GroundMap
          tracks={shown?.tracks ?? []}
          zones={zones.data ?? []}
          siteZones={siteZones.data?.zones ?? []}
          cameras={cameras.data ?? []}
          interventions={shownIvs}
          caption={caption}
          names={names}
          onZonesSaved={(z: TimelineZone[]) => zones.apply(() => z)}
        />
        <aside className="timeline-side">
          <Interventions list={shownIvs} zones={zones.data ?? []} live={live} />
          <Quality
            stats={stats.data}
            cameras={cameras.data ?? []}
            names={names}
            fleetIds={(fleet ?? []).map((c) => c.id)}
            onCalibrated={() => {
              cameras.refresh();
              stats.refresh();
            }}
          />
        </aside>
      </div>
    </section>
  );
}
