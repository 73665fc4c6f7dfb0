import { useApp } from '../stores/app';
import { useCameraNames } from '../stores/cameraNames';
import { nameCameras } from '../stores/cameraNamesCore';

export function Toasts() {
  const toasts = useApp((s) => s.toasts);
  const dismiss = useApp((s) => s.dismiss);
  // Notifications from main name cameras by id or serial; people know them by name.
  const names = useCameraNames();
  return (
    <div className="toasts" role="region" aria-live="polite" aria-label="Notifications">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.severity}`} role={t.severity === 'critical' ? 'alert' : 'status'}>
          <strong>{nameCameras(t.title, names)}</strong>
          {t.count > 1 && (
            <span className="toast-count" aria-label={`${t.count} times`}>
              ×{t.count}
            </span>
          )}
          <p>{nameCameras(t.body, names)}</p>
          <button type="button" className="ghost" aria-label={`Dismiss ${t.title}`} onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
