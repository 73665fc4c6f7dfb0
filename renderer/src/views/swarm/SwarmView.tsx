// The Swarm view: the live topology, the chosen camera's link health, quarantines with their
// proofs, the site's zones, confirmed events and the coordinator's insights.
import { useEffect, useMemo, useState } from 'react';
import type { SwarmGraph } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { useQuery } from '../../data/useQuery';
import { useCameraNames } from '../../stores/cameraNames';
import { cameraLabel } from '../../stores/cameraNamesCore';
import { EventsSection } from './EventsSection';
import { GraphCanvas } from './GraphCanvas';
import { syntheticGraph } from './graph';
import { InsightsSection } from './InsightsSection';
import { SwarmSide } from './SwarmSide';
import { ReleaseDialog, ZonesDialog } from './SwarmDialogs';
import { ZonesSection } from './ZonesSection';
import './swarm.css';

/** ?bench=swarm-graph[&n=500]: the graph fed by a synthetic topology that changes every second, redrawn every frame. */
function benchParams(): { n: number } | undefined {
  const q = new URLSearchParams(window.location.search);
  if (q.get('bench') !== 'swarm-graph') return undefined;
  const n = Number(q.get('n') ?? 500);
  return { n: Number.isInteger(n) && n > 0 && n <= 5000 ? n : 500 };
}

function useBenchGraph(n: number | undefined): SwarmGraph | undefined {
  const [g, setG] = useState<SwarmGraph>();
  useEffect(() => {
    if (!n) return;
    let k = 0;
    setG(syntheticGraph(n, 1, 1));
    // Status and link health change every second; the structure re-forms every fifth second (and only then).
    const t = setInterval(() => {
      k++;
      const version = 1 + Math.floor(k / 5);
      setG(syntheticGraph(n, version, version, 1 + k));
    }, 1000);
    return () => clearInterval(t);
  }, [n]);
  return g;
}

export function SwarmView() {
  const bench = useMemo(benchParams, []);
  const benchGraph = useBenchGraph(bench?.n);
  const live = !bench;
  // Link health and liveness change without a topology event: the status is read again every 2 s.
  const status = useQuery('swarm.status', {}, { enabled: live, pollMs: 2000, refreshOn: ['swarm.quarantine'], patch: { 'swarm.topology': (s, graph) => (s ? { ...s, graph } : s) } });
  const events = useQuery('swarm.events', { limit: 50 }, {
    enabled: live,
    apply: {
      'swarm.event': (prev, ev) => {
        if (!prev) return prev;
        const isNew = !prev.events.some((x) => x.id === ev.id);
        const list = [ev, ...prev.events.filter((x) => x.id !== ev.id)].sort((a, b) => b.id - a.id).slice(0, 50);
        return { ...prev, events: list, total: prev.total + (isNew ? 1 : 0) };
      },
    },
  });
  const insights = useQuery('swarm.insights', { recent: 20 }, { enabled: live, refreshOn: ['swarm.event', 'swarm.quarantine'], minIntervalMs: 2000 });
  const zones = useQuery('swarm.zones', {}, { enabled: live, apply: { 'swarm.zones': (_prev, z) => z } });
  const names = useCameraNames();
  const [selected, setSelected] = useState<string>();
  const [releasing, setReleasing] = useState<string>();
  const [editZones, setEditZones] = useState(false);

  const graph = bench ? benchGraph : status.data?.graph;
  const nodes = useMemo(() => (graph?.nodes ?? []).slice().sort((a, b) => cameraLabel(a.id, names).localeCompare(cameraLabel(b.id, names))), [graph, names]);
  const node = selected ? graph?.nodes.find((n) => n.id === selected) : undefined;
  const zoneName = (id: string): string => zones.data?.zones.find((z) => z.id === id)?.name ?? id;
  const proof = releasing ? status.data?.quarantined.find((q) => q.camera === releasing) : undefined;
  const refresh = (): void => {
    status.refresh();
    insights.refresh();
  };

  return (
    <section className="view swarm">
      <header className="view-header">
        <h1>Swarm</h1>
        <p className="muted">
          {graph
            ? `${graph.mode === 'mesh' ? `${graph.nodes.length} cameras in one group.` : `${graph.nodes.length} cameras in ${graph.clusters.length} coverage groups, one per zone, each with a reference camera.`} The picture shows coverage and link health; every report goes straight to the coordinator and is cross-checked there.`
            : 'Waiting for the coordinator.'}
          {bench && ' (benchmark: synthetic topology)'}
        </p>
      </header>

      <ErrorLine error={status.error ?? events.error ?? zones.error ?? insights.error} className="error" />

      <div className="swarm-top">
        <div className="swarm-graph-panel">
          {graph && graph.nodes.length === 0 ? (
            <p className="empty">No camera is registered with a signing key yet. Add a camera (or turn the demo fleet on in Settings) and it appears here once its key is recorded.</p>
          ) : (
            <GraphCanvas graph={graph} selected={selected} onSelect={setSelected} continuous={!!bench} names={names} />
          )}
        </div>

        <aside className="swarm-side" aria-label="Camera details">
          <SwarmSide status={status.data} node={node} nodes={nodes} names={names} zoneName={zoneName} onSelect={setSelected} onRelease={setReleasing} onChanged={refresh} />
        </aside>
      </div>

      <div className="swarm-bottom">
        <ZonesSection status={status.data} zones={zones.data} onEdit={() => setEditZones(true)} />
        <EventsSection events={events.data?.events ?? []} eventTotal={events.data?.total ?? 0} names={names} zoneName={zoneName} />
        <InsightsSection insights={insights.data} names={names} />
      </div>

      <ReleaseDialog camera={releasing} name={releasing ? cameraLabel(releasing, names) : ''} reason={proof?.reason} onClose={() => setReleasing(undefined)} onReleased={refresh} />
      <ZonesDialog open={editZones} zones={zones.data?.zones ?? []} onClose={() => setEditZones(false)} onSaved={refresh} />
    </section>
  );
}
