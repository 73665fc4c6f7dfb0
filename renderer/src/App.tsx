import * as Tooltip from '@radix-ui/react-tooltip';
import { Suspense, useEffect } from 'react';
import { Eye } from 'lucide-react';
import { ConnectionBanner } from './components/ConnectionBanner';
import { StatusBar } from './components/StatusBar';
import { Toasts } from './components/Toasts';
import { useApp } from './stores/app';
import { useNav } from './stores/nav';
import { useTheme } from './components/useTheme';
import { views } from './views/registry';

export function App() {
  const { view, go } = useNav();
  const current = views.find((v) => v.id === view) ?? views[0]!;
  const mode = useApp((s) => s.info?.mode);
  useTheme();

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      // Alt+1…9 open the first nine views and Alt+0 the tenth (e.code: Alt+digit types other
      // characters on some layouts).
      const match = /^Digit(\d)$/.exec(e.code) ?? /^(\d)$/.exec(e.key);
      const modifier = e.altKey || (mode === 'electron' && (e.ctrlKey || e.metaKey));
      if (!modifier || !match) return;
      const index = match[1] === '0' ? 9 : Number(match[1]) - 1;
      const target = views[index];
      if (!target) return;
      e.preventDefault();
      go(target.id);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [go, mode]);

  return (
    <Tooltip.Provider delayDuration={400}>
      <div className="shell">
        <nav className="rail" aria-label="Views">
          <div className="brand" aria-hidden="true">
            <Eye size={24} />
          </div>
          {views.map((v, i) => (
            <Tooltip.Root key={v.id}>
              <Tooltip.Trigger asChild>
                <button
                  type="button"
                  className="rail-item"
                  aria-current={v.id === current.id ? 'page' : undefined}
                  aria-label={v.label}
                  aria-keyshortcuts={i < 10 ? `Alt+${(i + 1) % 10}` : undefined}
                  onClick={() => go(v.id)}
                >
                  <v.icon className="rail-icon" size={18} aria-hidden="true" />
                  <span className="rail-label">{v.label}</span>
                </button>
              </Tooltip.Trigger>
              <Tooltip.Portal>
                <Tooltip.Content className="tooltip" side="right" sideOffset={6}>
                  {v.label} {i < 10 && <kbd>Alt+{(i + 1) % 10}</kbd>}
                </Tooltip.Content>
              </Tooltip.Portal>
            </Tooltip.Root>
          ))}
        </nav>
        <main className="content" aria-label={current.label}>
          <ConnectionBanner />
          <Suspense fallback={<p className="empty">Loading {current.label}…</p>}>
            <current.component />
          </Suspense>
        </main>
        <StatusBar />
        <Toasts />
      </div>
    </Tooltip.Provider>
  );
}
