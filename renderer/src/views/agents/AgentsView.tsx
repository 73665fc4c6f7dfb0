// The Agents view: who may join (tokens), who is connected, how Claude reaches OmniSight (MCP, the
// clipboard relay, the summaries key) and the team planner. One section component each.
import { useState } from 'react';
import { useQuery } from '../../data/useQuery';
import { ConnectedSection } from './ConnectedSection';
import { McpSection } from './McpSection';
import { OrchestratorSection } from './OrchestratorSection';
import { RelaySection } from './RelaySection';
import { SummaryKeySection } from './SummaryKeySection';
import { TokensOnceDialog, type IssuedToken } from './TokensOnceDialog';
import { TokensSection } from './TokensSection';
import './agents.css';

export function AgentsView() {
  const [issued, setIssued] = useState<IssuedToken[]>([]);
  const [title, setTitle] = useState('Your new token');
  // Rooms to relay into: a room made here by the orchestrator posts its first message at once.
  const rooms = useQuery('rooms.list', { member: 'user' }, { refreshOn: ['rooms.message'] });
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
        <RelaySection rooms={rooms.data?.rooms ?? []} />
        <SummaryKeySection />
        <OrchestratorSection
          onIssued={(t) => {
            setTitle('The team’s tokens');
            setIssued(t);
            rooms.refresh();
          }}
        />
      </div>
      <TokensOnceDialog tokens={issued} title={title} onClose={() => setIssued([])} />
    </section>
  );
}
