import { useState, type FormEvent } from 'react';
import type { PriceTable, TeamPlan } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { useAction } from '../../data/useAction';
import { useQuery } from '../../data/useQuery';
import { transport } from '../../transport';
import { parsePrice, priceRows, tokensShort, usd } from './agentsCore';
import type { IssuedToken } from './TokensOnceDialog';

const hintFields = [
  ['files', 'Files'],
  ['linesOfCode', 'Lines of code'],
  ['subtasks', 'Subtasks'],
  ['dependencyDepth', 'Dependency depth'],
  ['hours', 'Hours'],
] as const;
type HintKey = (typeof hintFields)[number][0];

function PriceEditor({ table, onChange }: { table: PriceTable; onChange: (t: PriceTable) => void }) {
  const [draft, setDraft] = useState<Record<string, { i: string; o: string }>>({});
  const saving = useAction(async (model: string, reset: boolean) => {
    if (reset) return onChange(await transport().call('assist.orchestrator.setPrice', { model, reset: true }));
    const d = draft[model];
    const row = table.models[model]!;
    const i = parsePrice(d?.i ?? String(row.inputPerMTok));
    const o = parsePrice(d?.o ?? String(row.outputPerMTok));
    if (typeof i === 'string' || typeof o === 'string') throw new Error(`${model}: ${typeof i === 'string' ? i : o}`);
    onChange(await transport().call('assist.orchestrator.setPrice', { model, inputPerMTok: i, outputPerMTok: o, reset: false }));
    setDraft(({ [model]: _, ...rest }) => rest);
  });
  const save = (model: string, reset = false): Promise<unknown> => saving.run(model, reset);
  const error = saving.error;
  return (
    <details className="prices">
      <summary>
        Price table (as of {table.asOf}, {table.source})
      </summary>
      <table className="table dense" aria-label="Model prices">
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Tier</th>
            <th scope="col">Input $/MTok</th>
            <th scope="col">Output $/MTok</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {priceRows(table).map((r) => (
            <tr key={r.model}>
              <td>
                <code>{r.model}</code> {r.overridden && <span className="warn small">edited</span>}
              </td>
              <td className="small">{r.tiers.join(', ') || '—'}</td>
              <td>
                <input
                  className="price"
                  aria-label={`Input price of ${r.model}`}
                  value={draft[r.model]?.i ?? String(r.inputPerMTok)}
                  onChange={(e) => setDraft((d) => ({ ...d, [r.model]: { i: e.target.value, o: d[r.model]?.o ?? String(r.outputPerMTok) } }))}
                />
              </td>
              <td>
                <input
                  className="price"
                  aria-label={`Output price of ${r.model}`}
                  value={draft[r.model]?.o ?? String(r.outputPerMTok)}
                  onChange={(e) => setDraft((d) => ({ ...d, [r.model]: { o: e.target.value, i: d[r.model]?.i ?? String(r.inputPerMTok) } }))}
                />
              </td>
              <td className="nowrap">
                <button type="button" disabled={!draft[r.model]} onClick={() => void save(r.model)}>
                  Save
                </button>
                {r.overridden && (
                  <button type="button" className="ghost" onClick={() => void save(r.model, true)}>
                    Reset
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorLine error={error} />
    </details>
  );
}

export function OrchestratorSection({ onIssued }: { onIssued: (tokens: IssuedToken[]) => void }) {
  const [description, setDescription] = useState('');
  const [hints, setHints] = useState<Record<HintKey, string>>({ files: '', linesOfCode: '', subtasks: '', dependencyDepth: '', hours: '' });
  const [plan, setPlan] = useState<TeamPlan>();
  const priceQuery = useQuery('assist.orchestrator.prices', {});
  const prices = priceQuery.data;
  const setPrices = (t: PriceTable): void => priceQuery.apply(() => t);
  const [roomName, setRoomName] = useState('');
  const [created, setCreated] = useState<string>();
  const hintValues = (): { files: number; linesOfCode: number; subtasks: number; dependencyDepth: number; hours: number } => {
    const n = (k: HintKey): number => (hints[k] ? Number(hints[k]) : 0);
    return { files: n('files'), linesOfCode: n('linesOfCode'), subtasks: n('subtasks'), dependencyDepth: n('dependencyDepth'), hours: n('hours') };
  };
  const planning = useAction(async () => setPlan(await transport().call('assist.orchestrator.plan', { description, hints: hintValues() })));
  const applying = useAction(async () => {
    const r = await transport().call('assist.orchestrator.apply', { description, hints: hintValues(), roomName: roomName || description.slice(0, 60) });
    setCreated(r.roomId);
    onIssued(r.members.map((m) => ({ name: m.name, token: m.token, note: `${m.role}, ${m.model}` })));
  });
  const makePlan = (e?: FormEvent): Promise<unknown> => {
    e?.preventDefault();
    return planning.run();
  };
  const apply = (): Promise<unknown> => applying.run();
  const error = planning.error ?? applying.error ?? priceQuery.error;

  return (
    <section className="card wide-card" aria-labelledby="orch-h">
      <h2 id="orch-h">Orchestrator: plan a team</h2>
      <form onSubmit={(e) => void makePlan(e)} className="orch-form" aria-label="Team plan">
        <label className="field">
          Task description
          <textarea value={description} onChange={(e) => setDescription(e.target.value)} maxLength={10_000} required placeholder="What should the team build or fix?" />
        </label>
        <div className="hints">
          {hintFields.map(([k, label]) => (
            <label key={k} className="field">
              {label}
              <input type="number" min={0} step={k === 'hours' ? 0.5 : 1} value={hints[k]} onChange={(e) => setHints((h) => ({ ...h, [k]: e.target.value }))} placeholder="0" />
            </label>
          ))}
        </div>
        <button type="submit" className="primary" disabled={!description.trim()}>
          Plan the team
        </button>
      </form>
      <ErrorLine error={error} />
      {plan && (
        <div className="plan" aria-label="Team plan result">
          <p>
            <strong>{plan.teamSize}</strong> agents · estimated <strong>{usd(plan.costUsd)}</strong> <span className="muted small">(prices as of {plan.pricesAsOf})</span>
          </p>
          <table className="table dense" aria-label="Roles">
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Count</th>
                <th scope="col">Model</th>
                <th scope="col">Planning</th>
                <th scope="col">Tokens in / out</th>
                <th scope="col">Cost</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {plan.roles.map((r) => (
                <tr key={r.role}>
                  <td>{r.role}</td>
                  <td className="nums">{r.count}</td>
                  <td>
                    <code>{r.model}</code> <span className="muted small">{r.tier}</span>
                  </td>
                  <td>{r.planningMode ? 'yes' : 'no'}</td>
                  <td className="nums small">
                    {tokensShort(r.inputTokens)} / {tokensShort(r.outputTokens)}
                  </td>
                  <td className="nums">{usd(r.costUsd)}</td>
                  <td className="small">
                    <ul className="reasons">
                      {r.reasons.map((why) => (
                        <li key={why}>{why}</li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {plan.warnings.map((w) => (
            <p key={w} className="warn small" role="note">
              ⚠ {w}
            </p>
          ))}
          {plan.assumptions.length > 0 && (
            <details className="small muted">
              <summary>Assumptions</summary>
              <ul>
                {plan.assumptions.map((a) => (
                  <li key={a}>{a}</li>
                ))}
              </ul>
            </details>
          )}
          <div className="row">
            <label className="field-inline">
              Room name
              <input value={roomName} onChange={(e) => setRoomName(e.target.value)} placeholder={description.slice(0, 60)} maxLength={100} />
            </label>
            <button type="button" className="primary" onClick={() => void apply()}>
              Create room with this team
            </button>
          </div>
          {created && (
            <p className="ok small" role="status">
              Room {created} created with one token per member; find it in Rooms.
            </p>
          )}
        </div>
      )}
      {prices && (
        <PriceEditor
          table={prices}
          onChange={(t) => {
            setPrices(t);
            if (plan) void makePlan();
          }}
        />
      )}
    </section>
  );
}
