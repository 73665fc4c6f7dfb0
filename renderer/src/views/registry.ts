import { lazy, type ComponentType } from 'react';
import { Activity, Bot, BrainCircuit, ChartGantt, GalleryThumbnails, MessagesSquare, Rocket, Settings, Share2, ShieldAlert, Video, type LucideIcon } from 'lucide-react';

export interface ViewSpec {
  id: string;
  label: string;
  icon: LucideIcon;
  /** Loaded on first visit, so start-up parses only the shell. */
  component: ComponentType;
}

/**
 * The views that exist, in navigation order: the fleet first (what an operator watches), then the
 * agents' rooms, then administration. The first is where a fresh profile opens. Alt+1…9 and Alt+0
 * (Ctrl/Cmd in the desktop app too) open the first ten in this order.
 */
export const views: ViewSpec[] = [
  { id: 'cameras', label: 'Cameras', icon: Video, component: lazy(() => import('./cameras/CamerasView').then((m) => ({ default: m.CamerasView }))) },
  { id: 'swarm', label: 'Swarm', icon: Share2, component: lazy(() => import('./swarm/SwarmView').then((m) => ({ default: m.SwarmView }))) },
  { id: 'timeline', label: 'Timeline', icon: ChartGantt, component: lazy(() => import('./timeline/TimelineView').then((m) => ({ default: m.TimelineView }))) },
  { id: 'performance', label: 'Performance', icon: Activity, component: lazy(() => import('./performance/PerformanceView').then((m) => ({ default: m.PerformanceView }))) },
  { id: 'deploy', label: 'Deploy', icon: Rocket, component: lazy(() => import('./deploy/DeployView').then((m) => ({ default: m.DeployView }))) },
  { id: 'federated', label: 'Federated', icon: BrainCircuit, component: lazy(() => import('./federated/FederatedView').then((m) => ({ default: m.FederatedView }))) },
  { id: 'rooms', label: 'Rooms', icon: MessagesSquare, component: lazy(() => import('./rooms/RoomsView').then((m) => ({ default: m.RoomsView }))) },
  { id: 'agents', label: 'Agents', icon: Bot, component: lazy(() => import('./agents/AgentsView').then((m) => ({ default: m.AgentsView }))) },
  { id: 'security', label: 'Security', icon: ShieldAlert, component: lazy(() => import('./security/SecurityView').then((m) => ({ default: m.SecurityView }))) },
  // After the ten with a shortcut: moving it up would take Settings' Alt+0.
  { id: 'settings', label: 'Settings', icon: Settings, component: lazy(() => import('./settings/SettingsView').then((m) => ({ default: m.SettingsView }))) },
  { id: 'review', label: 'Review', icon: GalleryThumbnails, component: lazy(() => import('./review/ReviewView').then((m) => ({ default: m.ReviewView }))) },
];
