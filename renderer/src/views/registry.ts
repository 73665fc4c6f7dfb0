import type { ComponentType } from 'react';
import { SecurityView } from './security/SecurityView';
import { SettingsView } from './settings/SettingsView';

export interface ViewSpec {
  id: string;
  label: string;
  /** One glyph for the navigation rail. */
  icon: string;
  component: ComponentType;
}

/**
 * The views that exist, in navigation order. Capabilities add theirs here (Rooms, Swarm, Cameras,
 * Deploy, Timeline, Performance, Agents); the navigation lists only what is registered. Alt+1…9
 * (and Ctrl+1…9 in the desktop app) open them in this order.
 */
export const views: ViewSpec[] = [
  { id: 'security', label: 'Security', icon: '⛨', component: SecurityView },
  { id: 'settings', label: 'Settings', icon: '⚙', component: SettingsView },
];
