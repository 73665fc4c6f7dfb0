// Auto-update policy over a port: the Electron side (updater-electron.ts) wraps electron-updater;
// everything that decides when to check, from where, and what to tell the user is here and tested
// under Node. Off until the user opts in (setting autoUpdate); the feed is the updateFeedUrl setting.
import type { Logger } from '../kernel/logger';

export interface UpdaterPort {
  /** Points the updater at an electron-updater "generic" feed (the folder with latest*.yml). */
  setFeed(url: string): void;
  /** Asks the feed; when it offers a newer version the port downloads it and resolves to that version. */
  check(): Promise<{ version: string } | null>;
  /** A downloaded update is installed when the app quits. */
  onDownloaded(listener: (version: string) => void): void;
}

export interface UpdateSettings {
  autoUpdate: boolean;
  updateFeedUrl: string;
}

export type UpdateStatus =
  | { state: 'off'; reason: string }
  | { state: 'idle'; lastCheckedAt: number | null }
  | { state: 'checking' }
  | { state: 'downloading'; version: string }
  | { state: 'ready'; version: string }
  | { state: 'error'; message: string };

export interface UpdateControllerDeps {
  port: UpdaterPort;
  log: Logger;
  notify(title: string, body: string): void;
  /** Installed builds only: a development run has nothing to replace. */
  installed: boolean;
  now?: () => number;
  intervalMs?: number;
  setInterval?: (fn: () => void, ms: number) => unknown;
  clearInterval?: (handle: unknown) => void;
}

export interface UpdateController {
  /** At start and on every settings change. */
  apply(settings: UpdateSettings): void;
  /** The menu's "Check for Updates…": one check now, also while automatic checks are off. */
  checkNow(): Promise<UpdateStatus>;
  status(): UpdateStatus;
  close(): void;
}

export const UPDATE_INTERVAL_MS = 6 * 60 * 60 * 1000;

export function createUpdateController(d: UpdateControllerDeps): UpdateController {
  const now = d.now ?? Date.now;
  const every = d.setInterval ?? ((fn, ms) => setInterval(fn, ms).unref());
  const stop = d.clearInterval ?? ((h) => clearInterval(h as NodeJS.Timeout));
  let settings: UpdateSettings = { autoUpdate: false, updateFeedUrl: '' };
  let feed: string | null = null;
  let timer: unknown = null;
  let status: UpdateStatus = { state: 'off', reason: 'Automatic updates are off.' };
  let running: Promise<UpdateStatus> | null = null;
  let lastCheckedAt: number | null = null;

  d.port.onDownloaded((version) => {
    status = { state: 'ready', version };
    d.log.info({ version }, 'update downloaded; it installs when the app quits');
    d.notify('Update ready', `OmniSight ${version} is downloaded and installs when you quit the app.`);
  });

  const unavailable = (): string | null => {
    if (!d.installed) return 'Updates apply to installed builds; this is a development run.';
    if (!settings.updateFeedUrl) return 'No update feed is set (setting updateFeedUrl).';
    return null;
  };

  const check = (): Promise<UpdateStatus> => {
    running ??= (async (): Promise<UpdateStatus> => {
      const why = unavailable();
      if (why) return (status = { state: 'off', reason: why });
      if (feed !== settings.updateFeedUrl) {
        d.port.setFeed(settings.updateFeedUrl);
        feed = settings.updateFeedUrl;
      }
      status = { state: 'checking' };
      try {
        const found = await d.port.check();
        lastCheckedAt = now();
        // The download may have finished (onDownloaded) before check() resolved.
        if (found && (status as UpdateStatus).state !== 'ready') status = { state: 'downloading', version: found.version };
        else if (!found) status = { state: 'idle', lastCheckedAt };
      } catch (err) {
        const message = `Checking ${settings.updateFeedUrl} for updates failed: ${(err as Error).message}`;
        d.log.warn({ err }, 'update check failed');
        status = { state: 'error', message };
      }
      return status;
    })().finally(() => {
      running = null;
    });
    return running;
  };

  return {
    apply(next) {
      settings = { ...next };
      if (timer !== null) {
        stop(timer);
        timer = null;
      }
      const why = unavailable() ?? (settings.autoUpdate ? null : 'Automatic updates are off.');
      if (why) {
        if (status.state !== 'ready' && status.state !== 'downloading') status = { state: 'off', reason: why };
        return;
      }
      timer = every(() => void check(), d.intervalMs ?? UPDATE_INTERVAL_MS);
      void check();
    },
    checkNow: check,
    status: () => status,
    close() {
      if (timer !== null) stop(timer);
      timer = null;
    },
  };
}
