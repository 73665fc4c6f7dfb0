import { useState, type FormEvent } from 'react';
import { agentScopes, type AgentScope, type TokenInfo } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { ConfirmDialog } from '../../components/Modal';
import { useNow } from '../../data/clock';
import { useAction } from '../../data/useAction';
import { useQuery } from '../../data/useQuery';
import { transport } from '../../transport';
import { expiresSoon, relative, sortTokens, when } from './agentsCore';
import type { IssuedToken } from './TokensOnceDialog';

export function TokensSection({ onIssued }: { onIssued: (t: IssuedToken) => void }) {
  // Last-used moves when agents connect.
  const q = useQuery('agents.tokens.list', {}, { refreshOn: ['agents.connected'] });
  const tokens = q.data?.tokens ?? [];
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<AgentScope[]>(['rooms:read', 'rooms:write']);
  const [days, setDays] = useState('30');
  const [revoking, setRevoking] = useState<TokenInfo>();
  const now = useNow(30_000);

  const create = useAction(async () => {
    const r = await transport().call('agents.tokens.create', { name, scopes, ...(days ? { expiresInDays: Number(days) } : {}) });
    onIssued({ name: r.info.name, token: r.token });
    setName('');
    q.refresh();
  });
  const revoke = useAction(async (t: TokenInfo) => {
    await transport().call('agents.tokens.revoke', { id: t.id });
    setRevoking(undefined);
    q.refresh();
  });

  return (
    <section className="card" aria-labelledby="tokens-h">
      <h2 id="tokens-h">Tokens</h2>
      <form
        className="token-form"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void create.run();
        }}
        aria-label="New token"
      >
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. claude-code-laptop" maxLength={80} required />
        </label>
        <fieldset className="scopes">
          <legend>Scopes</legend>
          {agentScopes.map((s) => (
            <label key={s} className="check">
              <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => setScopes((list) => (e.target.checked ? [...list, s] : list.filter((x) => x !== s)))} />
              {s}
            </label>
          ))}
        </fieldset>
        <label>
          Expires after (days)
          <input type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} placeholder="never" />
        </label>
        <button type="submit" className="primary" disabled={create.pending}>
          Create token
        </button>
      </form>
      <ErrorLine error={create.error ?? q.error} />
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
                  {relative(t.lastUsedAt, now, 'past')}
                </td>
                <td className={`small${expiresSoon(t, now) ? ' warn' : ''}`} title={t.expiresAt ? when(t.expiresAt) : undefined}>
                  {t.expiresAt ? relative(t.expiresAt, now) : 'never'}
                </td>
                <td>
                  <span className={`badge tok-${t.status}`}>{t.status}</span>
                </td>
                <td>
                  {t.status === 'active' && (
                    <button
                      type="button"
                      className="ghost danger-text"
                      aria-label={`Revoke token ${t.name}`}
                      onClick={() => {
                        revoke.clear();
                        setRevoking(t);
                      }}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ConfirmDialog
        open={!!revoking}
        onOpenChange={(o) => !o && setRevoking(undefined)}
        title={`Revoke “${revoking?.name ?? ''}”?`}
        description="Its connections close at once and it can never be used again. Agents using it need a new token."
        confirmLabel="Revoke token"
        danger
        pending={revoke.pending}
        error={revoke.error}
        onConfirm={() => revoking && void revoke.run(revoking)}
      />
    </section>
  );
}
