import { lazy, type ComponentType } from 'react';
import { Settings, ShieldAlert, type LucideIcon } from 'lucide-react';

export interface ViewSpec {
  id: string;
  label: string;
  icon: LucideIcon;
  /** Loaded on first visit, so start-up parses only the shell. */
  component: ComponentType;
}

/**
 * The views that exist, in navigation order. Capabilities add theirs here (Rooms, Swarm, Cameras,
 * Deploy, Timeline, Performance, Agents); the navigation lists only what is registered. Alt+1…9
 * (and Ctrl+1…9 in the desktop app) open them in this order.
 */
export const views: ViewSpec[] = [
  { id: 'security', label: 'Security', icon: ShieldAlert, component: lazy(() => import('./security/SecurityView').then((m) => ({ default: m.SecurityView }))) },
  { id: 'settings', label: 'Settings', icon: Settings, component: lazy(() => import('./settings/SettingsView').then((m) => ({ default: m.SettingsView }))) },
];
