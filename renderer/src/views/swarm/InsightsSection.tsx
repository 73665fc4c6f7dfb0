import type { MethodOutput } from '../../../../preload/contract';
import { nameCameras, type CameraNames } from '../../stores/cameraNamesCore';

type Insights = MethodOutput<'swarm.insights'>;

export function InsightsSection({ insights, names }: { insights: Insights | undefined; names: CameraNames }) {
  return (
    <section aria-labelledby="swarm-insights-h">
      <h2 id="swarm-insights-h">Insights</h2>
      {!insights || insights.patterns.length === 0 ? (
        <p className="muted">No patterns in the coordinator's decisions so far.</p>
      ) : (
        <ul className="swarm-insights" aria-label="Insights">
          {insights.patterns.map((p) => (
            <li key={`${p.kind}:${p.subject}`}>
              <div>{nameCameras(p.message, names)}</div>
              <div className="muted">Suggestion: {nameCameras(p.suggestion, names)}</div>
            </li>
          ))}
        </ul>
      )}
      {insights && Object.keys(insights.byRule).length > 0 && (
        <p className="muted">
          Rules fired:{' '}
          {Object.entries(insights.byRule)
            .map(([r, n]) => `${r} ${n}`)
            .join(' · ')}
        </p>
      )}
    </section>
  );
}
