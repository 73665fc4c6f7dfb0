import { useState, type FormEvent } from 'react';
import { ErrorLine } from '../../components/ErrorLine';
import { useAction } from '../../data/useAction';
import { useQuery } from '../../data/useQuery';
import { transport } from '../../transport';

export function SummaryKeySection() {
  const [key, setKey] = useState('');
  const config = useQuery('assist.summary.config', {});
  const threshold = config.data?.threshold;
  const [msg, setMsg] = useState<string>();
  const saving = useAction(async () => {
    const r = await transport().call('assist.summary.setApiKey', { apiKey: key.trim() });
    setMsg(r.saved ? 'Key saved in the secret store; summaries are now written by Claude.' : 'Key removed; summaries are extractive.');
    setKey('');
  });
  const save = (e: FormEvent): void => {
    e.preventDefault();
    void saving.run();
  };
  const error = saving.error ?? config.error;
  return (
    <section className="card" aria-labelledby="sum-h">
      <h2 id="sum-h">Room summaries</h2>
      <p className="small muted">
        With an Anthropic API key, summaries stream in from Claude; without one they are extractive. Automatic after {threshold ?? 50} new messages.
      </p>
      <form className="inline" onSubmit={save}>
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
