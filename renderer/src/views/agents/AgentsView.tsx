import * as Dialog from '@radix-ui/react-dialog';
import * as Switch from '@radix-ui/react-switch';
import { Copy } from 'lucide-react';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import {
  agentScopes,
  type AgentScope,
  type ConnectedAgent,
  type MethodOutput,
  type PriceTable,
  type RelayState,
  type RoomListItem,
  type TeamPlan,
  type TokenInfo,
} from '../../../../preload/contract';
import { errorText, transport } from '../../transport';
import { expiresSoon, parsePrice, priceRows, relative, secondsLeft, skippedSummary, sortTokens, tokensShort, usd } from './agentsCore';
import './agents.css';

const when = (ts: number): string => new Date(ts).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });

function ErrorLine({ error }: { error?: string }) {
  return error ? (
    <p role="alert" className="error small">
      {error}
    </p>
  ) : null;
}

/** Re-renders every second while mounted (countdowns, "5 s ago"). */
function useNow(active = true): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState<'copied' | 'failed'>();
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setDone('copied');
    } catch {
      setDone('failed');
    }
    setTimeout(() => setDone(undefined), 2000);
  };
  return (
    <button type="button" className="copy" onClick={() => void copy()} aria-label={label}>
      <Copy size={13} aria-hidden="true" /> {done === 'copied' ? 'Copied' : done === 'failed' ? 'Select and copy it by hand' : 'Copy'}
    </button>
  );
}

/** Issued tokens, shown once: the store keeps only their hashes. */
function TokensOnceDialog({ tokens, onClose, title }: { tokens: { name: string; token: string; note?: string }[]; onClose: () => void; title: string }) {
  return (
    <Dialog.Root open={tokens.length > 0} onOpenChange={(o) => !o && onClose()}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content className="dialog wide" aria-describedby="token-once-hint">
          <Dialog.Title>{title}</Dialog.Title>
          <p id="token-once-hint" className="warn-box">
            Copy {tokens.length > 1 ? 'these tokens' : 'this token'} now: <strong>you will not see {tokens.length > 1 ? 'them' : 'it'} again</strong>. OmniSight keeps only a hash.
          </p>
          <ul className="token-once">
            {tokens.map((t) => (
              <li key={t.token}>
                <span className="small">
                  {t.name}
                  {t.note ? <span className="muted"> · {t.note}</span> : null}
                </span>
                <code className="secret" aria-label={`Token for ${t.name}`}>
                  {t.token}
                </code>
                <CopyButton text={t.token} label={`Copy the token for ${t.name}`} />
              </li>
            ))}
          </ul>
          <div className="dialog-actions">
            <Dialog.Close asChild>
              <button type="button" className="primary">
                I have copied it
              </button>
            </Dialog.Close>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

// --- tokens ---------------------------------------------------------------------------------------

function TokensSection({ onIssued }: { onIssued: (t: { name: string; token: string }) => void }) {
  const [tokens, setTokens] = useState<TokenInfo[]>([]);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<AgentScope[]>(['rooms:read', 'rooms:write']);
  const [days, setDays] = useState('30');
  const [error, setError] = useState<string>();
  const [revoking, setRevoking] = useState<TokenInfo>();
  const now = useNow(false);

  const load = useCallback(async () => {
    try {
      setTokens((await transport().call('agents.tokens.list', {})).tokens);
    } catch (err) {
      setError(errorText(err));
    }
  }, []);
  useEffect(() => {
    void load();
    return transport().on('agents.connected', () => void load()); // last-used moves when agents connect
  }, [load]);

  const create = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try {
      const r = await transport().call('agents.tokens.create', { name, scopes, ...(days ? { expiresInDays: Number(days) } : {}) });
      onIssued({ name: r.info.name, token: r.token });
      setName('');
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const revoke = async (): Promise<void> => {
    if (!revoking) return;
    try {
      await transport().call('agents.tokens.revoke', { id: revoking.id });
      setRevoking(undefined);
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section className="card" aria-labelledby="tokens-h">
      <h2 id="tokens-h">Tokens</h2>
      <form className="token-form" onSubmit={(e) => void create(e)} aria-label="New token">
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. claude-code-laptop" maxLength={80} required />
        </label>
        <fieldset className="scopes">
          <legend>Scopes</legend>
          {agentScopes.map((s) => (
            <label key={s} className="check">
              <input
                type="checkbox"
                checked={scopes.includes(s)}
                onChange={(e) => setScopes((list) => (e.target.checked ? [...list, s] : list.filter((x) => x !== s)))}
              />
              {s}
            </label>
          ))}
        </fieldset>
        <label>
          Expires after (days)
          <input type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} placeholder="never" />
        </label>
        <button type="submit" className="primary">
          Create token
        </button>
      </form>
      <ErrorLine error={error} />
      {tokens.length === 0 ? (
        <p className="empty small">No tokens yet. An agent needs one to join: create it here, or with “npx omnisight token create”.</p>
      ) : (
        <table className="table dense" aria-label="Agent tokens">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Scopes</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sortTokens(tokens).map((t) => (
              <tr key={t.id} className={t.status !== 'active' ? 'inactive' : undefined}>
                <td className="nowrap">{t.name}</td>
                <td>
                  <code>{t.id}</code>
                </td>
                <td className="small">{t.scopes.join(', ')}</td>
                <td className="small" title={t.lastUsedAt ? when(t.lastUsedAt) : undefined}>
                  {relative(t.lastUsedAt, now)}
                </td>
                <td className={`small${expiresSoon(t, now) ? ' warn' : ''}`} title={t.expiresAt ? when(t.expiresAt) : undefined}>
                  {t.expiresAt ? relative(t.expiresAt, now) : 'never'}
                </td>
                <td>
                  <span className={`badge tok-${t.status}`}>{t.status}</span>
                </td>
                <td>
                  {t.status === 'active' && (
                    <button type="button" className="ghost danger-text" aria-label={`Revoke token ${t.name}`} onClick={() => setRevoking(t)}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog.Root open={!!revoking} onOpenChange={(o) => !o && setRevoking(undefined)}>
        <Dialog.Portal>
          <Dialog.Overlay className="dialog-overlay" />
          <Dialog.Content className="dialog" aria-describedby="revoke-hint">
            <Dialog.Title>Revoke “{revoking?.name}”?</Dialog.Title>
            <p id="revoke-hint" className="muted">
              Its connections close at once and it can never be used again. Agents using it need a new token.
            </p>
            <div className="dialog-actions">
              <Dialog.Close asChild>
                <button type="button">Cancel</button>
              </Dialog.Close>
              <button type="button" className="primary danger-bg" onClick={() => void revoke()}>
                Revoke token
              </button>
            </div>
          </Dialog.Content>
        </Dialog.Portal>
      </Dialog.Root>
    </section>
  );
}

// --- connected agents -----------------------------------------------------------------------------

function ConnectedSection() {
  const [agents, setAgents] = useState<ConnectedAgent[]>([]);
  const [port, setPort] = useState<number | null>(null);
  const now = useNow();
  useEffect(() => {
    void transport()
      .call('agents.connected', {})
      .then((r) => {
        setAgents(r.agents);
        setPort(r.port);
      })
      .catch(() => {});
    return transport().on('agents.connected', (r) => setAgents(r.agents));
  }, []);
  return (
    <section className="card" aria-labelledby="connected-h">
      <h2 id="connected-h">Connected agents</h2>
      <p className="small muted">{port ? `The bridge listens on 127.0.0.1:${port} (WebSocket /ws and HTTP /api).` : 'The bridge is starting…'}</p>
      {agents.length === 0 ? (
        <p className="empty small">No agent is connected. Scripts using the HTTP API or the CLI do not stay connected; they show as “last used” above.</p>
      ) : (
        <table className="table dense" aria-label="Connected agents">
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Presence</th>
              <th scope="col">Rooms</th>
              <th scope="col">Connected</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((a) => (
              <tr key={`${a.tokenId}-${a.peer}-${a.connectedAt}`}>
                <td>
                  {a.name} {a.verifiedKey && <span className="ok small">signed</span>}
                </td>
                <td>
                  <span className={`presence presence-${a.presence}`} aria-hidden="true" /> {a.presence}
                </td>
                <td className="small">{a.rooms.join(', ') || '—'}</td>
                <td className="small">{relative(a.connectedAt, now)}</td>
                <td className="small">{relative(a.lastSeenAt, now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

// --- MCP setup ------------------------------------------------------------------------------------

function McpSection() {
  const [token, setToken] = useState('');
  const [setup, setSetup] = useState<MethodOutput<'agents.mcpSetup'>>();
  const [confirming, setConfirming] = useState(false);
  const [written, setWritten] = useState<MethodOutput<'agents.writeDesktopConfig'>>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    const t = setTimeout(() => {
      void transport()
        .call('agents.mcpSetup', token.trim() ? { token: token.trim() } : {})
        .then((s) => {
          setSetup(s);
          setError(undefined);
        })
        .catch((err: unknown) => setError(errorText(err)));
    }, 200);
    return () => clearTimeout(t);
  }, [token]);
  const write = async (): Promise<void> => {
    setError(undefined);
    try {
      setWritten(await transport().call('agents.writeDesktopConfig', { token: token.trim(), confirm: true }));
      setConfirming(false);
    } catch (err) {
      setConfirming(false);
      setError(errorText(err));
    }
  };
  return (
    <section className="card" aria-labelledby="mcp-h">
      <h2 id="mcp-h">MCP setup for Claude</h2>
      <label className="field">
        Agent token for the MCP server <small className="muted">paste one you created above; it goes into the command and the config</small>
        <input type="password" value={token} onChange={(e) => setToken(e.target.value)} placeholder="omni_…" autoComplete="off" />
      </label>
      {setup && (
        <>
          <h3>Claude Code</h3>
          <div className="codeline">
            <code aria-label="Claude Code command">{setup.claudeCode}</code>
            <CopyButton text={setup.claudeCode} label="Copy the Claude Code command" />
          </div>
          <h3>Claude Desktop</h3>
          <p className="small muted">
            Entry for <code>{setup.desktopConfigPath}</code>
          </p>
          <pre className="json" aria-label="Claude Desktop entry">
            {setup.desktopJson}
          </pre>
          <div className="row">
            <CopyButton text={setup.desktopJson} label="Copy the Claude Desktop entry" />
            <button type="button" disabled={!token.trim()} onClick={() => setConfirming(true)} title={token.trim() ? undefined : 'Paste a token first'}>
              Write to Claude Desktop config…
            </button>
          </div>
        </>
      )}
      {written && (
        <p className="ok small" role="status">
          Written to <code>{written.path}</code>
          {written.backupPath ? (
            <>
              ; the previous file is kept as <code>{written.backupPath}</code>
            </>
          ) : (
            ' (there was no file before, so no backup)'
          )}
          . Servers: {written.servers.join(', ')}. Restart Claude Desktop to load it.
        </p>
      )}
      <ErrorLine error={error} />
      <Dialog.Root open={confirming} onOpenChange={setConfirming}>
        <Dialog.Portal>
          <Dialog.Overlay className="dialog-overlay" />
          <Dialog.Content className="dialog wide" aria-describedby="write-hint">
            <Dialog.Title>Change the Claude Desktop configuration?</Dialog.Title>
            <p id="write-hint" className="small">
              OmniSight adds (or replaces) only the <code>omnisight</code> entry under <code>mcpServers</code> in <code>{setup?.desktopConfigPath}</code>; other servers stay
              as they are. The current file is first copied next to it as <code>{setup?.desktopConfigPath}.&lt;time&gt;.bak</code>.
            </p>
            <pre className="json">{setup?.desktopJson}</pre>
            <div className="dialog-actions">
              <Dialog.Close asChild>
                <button type="button">Cancel</button>
              </Dialog.Close>
              <button type="button" className="primary" onClick={() => void write()}>
                Write the entry
              </button>
            </div>
          </Dialog.Content>
        </Dialog.Portal>
      </Dialog.Root>
    </section>
  );
}

// --- clipboard relay ------------------------------------------------------------------------------

function RelaySection({ rooms }: { rooms: RoomListItem[] }) {
  const [state, setState] = useState<RelayState>();
  const [error, setError] = useState<string>();
  const now = useNow(!!state?.undoable.length || !!state?.enabled);
  useEffect(() => {
    void transport().call('assist.relay.get', {}).then(setState).catch((err: unknown) => setError(errorText(err)));
    return transport().on('assist.relay', setState);
  }, []);
  const set = async (enabled: boolean, roomId?: string): Promise<void> => {
    setError(undefined);
    try {
      setState(await transport().call('assist.relay.set', { enabled, ...(roomId ? { roomId } : {}) }));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const undo = async (messageId: string): Promise<void> => {
    try {
      await transport().call('assist.relay.undo', { messageId });
    } catch (err) {
      setError(errorText(err));
    }
  };
  const roomName = (id: string | null): string => rooms.find((r) => r.id === id)?.name ?? id ?? '—';
  const undoable = state?.undoable.filter((u) => u.until > now) ?? [];
  return (
    <section className="card" aria-labelledby="relay-h">
      <h2 id="relay-h">
        Clipboard relay for Claude Desktop {state?.enabled && <span className="relay-on">● Relay on</span>}
      </h2>
      <p className="small muted">
        No setup in Claude Desktop: while this is on, text you copy (a Claude Desktop reply) is posted to the room as from Desktop, and messages addressed to
        Desktop are put on your clipboard. Concealed copies, secret-looking text and OmniSight’s own writes are never relayed.
      </p>
      <div className="row">
        <label className="check" htmlFor="relay-switch">
          Relay
        </label>
        <Switch.Root
          id="relay-switch"
          className="switch"
          checked={!!state?.enabled}
          aria-label="Clipboard relay"
          onCheckedChange={(on) => void set(on, state?.roomId ?? rooms[0]?.id)}
        >
          <Switch.Thumb className="switch-thumb" />
        </Switch.Root>
        <label className="field-inline">
          Room
          <select value={state?.roomId ?? ''} onChange={(e) => void set(!!state?.enabled, e.target.value)} aria-label="Room to relay into">
            <option value="" disabled>
              {rooms.length ? 'Choose a room' : 'No rooms: create one in Rooms'}
            </option>
            {rooms.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorLine error={error ?? state?.error ?? undefined} />
      {state && (
        <dl className="relay-stats">
          <div>
            <dt>Into</dt>
            <dd>{roomName(state.roomId)}</dd>
          </div>
          <div>
            <dt>Last relayed</dt>
            <dd>{relative(state.lastRelayedAt, now)}</dd>
          </div>
          <div>
            <dt>Posted / to clipboard</dt>
            <dd className="nums">
              {state.relayed} / {state.toClipboard}
            </dd>
          </div>
          <div>
            <dt>Skipped</dt>
            <dd>{skippedSummary(state.skipped)}</dd>
          </div>
        </dl>
      )}
      {undoable.length > 0 && (
        <ul className="undo-list" aria-label="Recent relays">
          {undoable.map((u) => (
            <li key={u.messageId}>
              <span className="preview">“{u.preview}”</span>
              <span className="small muted">{u.posted ? 'posted' : 'posting'}</span>
              <button type="button" onClick={() => void undo(u.messageId)}>
                Undo ({secondsLeft(u.until, now)} s)
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

// --- orchestrator ---------------------------------------------------------------------------------

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
  const [error, setError] = useState<string>();
  const save = async (model: string, reset = false): Promise<void> => {
    setError(undefined);
    try {
      if (reset) return onChange(await transport().call('assist.orchestrator.setPrice', { model, reset: true }));
      const d = draft[model];
      const row = table.models[model]!;
      const i = parsePrice(d?.i ?? String(row.inputPerMTok));
      const o = parsePrice(d?.o ?? String(row.outputPerMTok));
      if (typeof i === 'string' || typeof o === 'string') return setError(`${model}: ${typeof i === 'string' ? i : o}`);
      onChange(await transport().call('assist.orchestrator.setPrice', { model, inputPerMTok: i, outputPerMTok: o, reset: false }));
      setDraft(({ [model]: _, ...rest }) => rest);
    } catch (err) {
      setError(errorText(err));
    }
  };
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

function OrchestratorSection({ onIssued }: { onIssued: (tokens: { name: string; token: string; note?: string }[]) => void }) {
  const [description, setDescription] = useState('');
  const [hints, setHints] = useState<Record<HintKey, string>>({ files: '', linesOfCode: '', subtasks: '', dependencyDepth: '', hours: '' });
  const [plan, setPlan] = useState<TeamPlan>();
  const [prices, setPrices] = useState<PriceTable>();
  const [roomName, setRoomName] = useState('');
  const [error, setError] = useState<string>();
  const [created, setCreated] = useState<string>();

  useEffect(() => {
    void transport().call('assist.orchestrator.prices', {}).then(setPrices).catch(() => {});
  }, []);
  const hintValues = (): { files: number; linesOfCode: number; subtasks: number; dependencyDepth: number; hours: number } => {
    const n = (k: HintKey): number => (hints[k] ? Number(hints[k]) : 0);
    return { files: n('files'), linesOfCode: n('linesOfCode'), subtasks: n('subtasks'), dependencyDepth: n('dependencyDepth'), hours: n('hours') };
  };
  const makePlan = async (e?: FormEvent): Promise<void> => {
    e?.preventDefault();
    setError(undefined);
    try {
      setPlan(await transport().call('assist.orchestrator.plan', { description, hints: hintValues() }));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const apply = async (): Promise<void> => {
    setError(undefined);
    try {
      const r = await transport().call('assist.orchestrator.apply', { description, hints: hintValues(), roomName: roomName || description.slice(0, 60) });
      setCreated(r.roomId);
      onIssued(r.members.map((m) => ({ name: m.name, token: m.token, note: `${m.role}, ${m.model}` })));
    } catch (err) {
      setError(errorText(err));
    }
  };

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

// --- summaries key --------------------------------------------------------------------------------

function SummaryKeySection() {
  const [key, setKey] = useState('');
  const [threshold, setThreshold] = useState<number>();
  const [msg, setMsg] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    void transport().call('assist.summary.config', {}).then((c) => setThreshold(c.threshold)).catch(() => {});
  }, []);
  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try {
      const r = await transport().call('assist.summary.setApiKey', { apiKey: key.trim() });
      setMsg(r.saved ? 'Key saved in the secret store; summaries are now written by Claude.' : 'Key removed; summaries are extractive.');
      setKey('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <section className="card" aria-labelledby="sum-h">
      <h2 id="sum-h">Room summaries</h2>
      <p className="small muted">
        With an Anthropic API key, summaries stream in from Claude; without one they are extractive. Automatic after {threshold ?? 50} new messages.
      </p>
      <form className="inline" onSubmit={(e) => void save(e)}>
        <input type="password" aria-label="Anthropic API key" value={key} onChange={(e) => setKey(e.target.value)} placeholder="sk-ant-… (empty removes the key)" autoComplete="off" />
        <button type="submit">Save key</button>
      </form>
      {msg && (
        <p className="ok small" role="status">
          {msg}
        </p>
      )}
      <ErrorLine error={error} />
    </section>
  );
}

export function AgentsView() {
  const [issued, setIssued] = useState<{ name: string; token: string; note?: string }[]>([]);
  const [title, setTitle] = useState('Your new token');
  const [rooms, setRooms] = useState<RoomListItem[]>([]);
  useEffect(() => {
    void transport().call('rooms.list', { member: 'user' }).then((r) => setRooms(r.rooms)).catch(() => {});
  }, [issued]);
  return (
    <section className="view agents-view">
      <header className="view-header">
        <h1>Agents</h1>
        <p className="muted">Who may join your rooms, who is connected, and how Claude Code and Claude Desktop reach OmniSight.</p>
      </header>
      <div className="agents-grid">
        <TokensSection
          onIssued={(t) => {
            setTitle('Your new token');
            setIssued([t]);
          }}
        />
        <ConnectedSection />
        <McpSection />
        <RelaySection rooms={rooms} />
        <SummaryKeySection />
        <OrchestratorSection
          onIssued={(t) => {
            setTitle('The team’s tokens');
            setIssued(t);
          }}
        />
      </div>
      <TokensOnceDialog tokens={issued} title={title} onClose={() => setIssued([])} />
    </section>
  );
}
