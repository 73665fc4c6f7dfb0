import { useState } from 'react';
import type { MethodOutput } from '../../../../preload/contract';
import { ErrorLine } from '../../components/ErrorLine';
import { ConfirmDialog } from '../../components/Modal';
import { useAction } from '../../data/useAction';
import { useDebounced } from '../../data/useDebounced';
import { useQuery } from '../../data/useQuery';
import { transport } from '../../transport';
import { CopyButton } from '../../components/CopyButton';

export function McpSection() {
  const [token, setToken] = useState('');
  const typed = useDebounced(token.trim(), 200);
  const q = useQuery('agents.mcpSetup', typed ? { token: typed } : {});
  const setup = q.data;
  const [confirming, setConfirming] = useState(false);
  const [written, setWritten] = useState<MethodOutput<'agents.writeDesktopConfig'>>();
  const write = useAction(async () => {
    setWritten(await transport().call('agents.writeDesktopConfig', { token: token.trim(), confirm: true }));
    setConfirming(false);
  });
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
            <button
              type="button"
              disabled={!token.trim()}
              onClick={() => {
                write.clear();
                setConfirming(true);
              }}
              title={token.trim() ? undefined : 'Paste a token first'}
            >
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
      <ErrorLine error={q.error} />
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        wide
        title="Change the Claude Desktop configuration?"
        description={
          <>
            OmniSight adds (or replaces) only the <code>omnisight</code> entry under <code>mcpServers</code> in <code>{setup?.desktopConfigPath}</code>; other servers stay as they
            are. The current file is first copied next to it as <code>{setup?.desktopConfigPath}.&lt;time&gt;.bak</code>.
          </>
        }
        confirmLabel="Write the entry"
        pending={write.pending}
        error={write.error}
        onConfirm={() => void write.run()}
      >
        <pre className="json">{setup?.desktopJson}</pre>
      </ConfirmDialog>
    </section>
  );
}
