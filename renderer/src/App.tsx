import * as Tooltip from '@radix-ui/react-tooltip';
import { Suspense, useEffect } from 'react';
import { Eye } from 'lucide-react';
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
      const digit = Number(e.key);
      const modifier = e.altKey || (mode === 'electron' && (e.ctrlKey || e.metaKey));
      if (!modifier || !Number.isInteger(digit) || digit < 1 || digit > views.length) return;
      e.preventDefault();
      go(views[digit - 1]!.id);
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
                  aria-keyshortcuts={`Alt+${i + 1}`}
                  onClick={() => go(v.id)}
                >
                  <v.icon className="rail-icon" size={18} aria-hidden="true" />
                  <span className="rail-label">{v.label}</span>
                </button>
              </Tooltip.Trigger>
              <Tooltip.Portal>
                <Tooltip.Content className="tooltip" side="right" sideOffset={6}>
                  {v.label} <kbd>Alt+{i + 1}</kbd>
                </Tooltip.Content>
              </Tooltip.Portal>
            </Tooltip.Root>
          ))}
        </nav>
        <main className="content" aria-label={current.label}>
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
