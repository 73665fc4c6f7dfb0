// The UpdaterPort over electron-updater (loaded only when an update check runs).
import type { Logger } from '../kernel/logger';
import type { UpdaterPort } from './updates';

export function electronUpdater(log: Logger): UpdaterPort {
  const downloaded: ((version: string) => void)[] = [];
  const load = async () => {
    const { autoUpdater } = await import('electron-updater');
    if (!autoUpdater.listenerCount('update-downloaded')) {
      autoUpdater.autoDownload = true;
      autoUpdater.autoInstallOnAppQuit = true;
      autoUpdater.logger = { info: (m: unknown) => log.info({ updater: m }), warn: (m: unknown) => log.warn({ updater: m }), error: (m: unknown) => log.error({ updater: m }), debug: () => {} };
      autoUpdater.on('update-downloaded', (info) => downloaded.forEach((l) => l(info.version)));
    }
    return autoUpdater;
  };
  let pendingFeed: string | null = null;
  return {
    setFeed(url) {
      pendingFeed = url;
    },
    async check() {
      const updater = await load();
      if (pendingFeed) {
        updater.setFeedURL({ provider: 'generic', url: pendingFeed });
        pendingFeed = null;
      }
      const r = await updater.checkForUpdates();
      return r?.isUpdateAvailable ? { version: r.updateInfo.version } : null;
    },
    onDownloaded(l) {
      downloaded.push(l);
    },
  };
}
