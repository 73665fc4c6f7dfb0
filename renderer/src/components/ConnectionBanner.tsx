// When the page cannot connect and waiting will not help (no token in the address, or a restarted
// server that does not take the old one), say so at the top and take the new address right here.
import { useState, type FormEvent } from 'react';
import { useApp } from '../stores/app';
import { readPastedAddress, switchToken, transport } from '../transport';
import { ErrorLine } from './ErrorLine';

export function ConnectionBanner() {
  const connection = useApp((s) => s.connection);
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  const needsAddress = connection.problem === 'no-token' || connection.problem === 'token-refused';
  if (connection.status === 'open' || !connection.problem) return null;
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const r = readPastedAddress(text, window.location);
    if (r.kind === 'error') return setError(r.message);
    setError(undefined);
    setText('');
    if (r.kind === 'navigate') window.location.assign(r.url);
    else switchToken(transport(), r.token);
  };
  return (
    <div className="connection-banner" role="region" aria-label="Connection problem">
      <p>{connection.detail}</p>
      {needsAddress && (
        <form className="inline" onSubmit={submit}>
          <input aria-label="OmniSight address" value={text} onChange={(e) => setText(e.target.value)} placeholder="http://127.0.0.1:…/#token=…" autoComplete="off" spellCheck={false} />
          <button type="submit" className="primary">
            Connect
          </button>
        </form>
      )}
      <ErrorLine error={error} />
    </div>
  );
}
