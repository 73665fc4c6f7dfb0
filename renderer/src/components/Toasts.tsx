import { useApp } from '../stores/app';

export function Toasts() {
  const toasts = useApp((s) => s.toasts);
  const dismiss = useApp((s) => s.dismiss);
  return (
    <div className="toasts" aria-live="polite" aria-label="Notifications">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.severity}`} role={t.severity === 'critical' ? 'alert' : 'status'}>
          <strong>{t.title}</strong>
          {t.count > 1 && (
            <span className="toast-count" aria-label={`${t.count} times`}>
              ×{t.count}
            </span>
          )}
          <p>{t.body}</p>
          <button type="button" className="ghost" aria-label={`Dismiss ${t.title}`} onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
