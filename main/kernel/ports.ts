// Operating-system features behind ports, so that services run the same in app mode (Electron
// adapters in main/electron/) and browser mode (Node adapters in main/app/).
import type { AppNotification } from '../../preload/contract';

export type SecretProtection = 'os-keychain' | 'basic-text' | 'file-key';

/** Secrets (camera passwords, API keys) are encrypted before they reach the database. */
export interface SecretStore {
  readonly protection: SecretProtection;
  set(name: string, value: string): void;
  get(name: string): string | undefined;
  delete(name: string): void;
}

export interface Notifier {
  notify(n: AppNotification): void;
}

export interface Clipboard {
  readText(): Promise<string>;
  writeText(text: string): Promise<void>;
}

/** A running helper process, whichever way it was started (utilityProcess or child_process). */
export interface HelperChannel {
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
  readonly pid: number | undefined;
}
export type HelperLauncher = (entry: string) => HelperChannel;
