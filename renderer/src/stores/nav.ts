import { create } from 'zustand';

const KEY = 'omnisight.view';

interface NavState {
  view: string;
  /** A moment the Timeline should show when it opens (from the event review); taken once. */
  timelineAt?: number;
  go(view: string): void;
  showTimelineAt(ts: number): void;
}

export const useNav = create<NavState>((set) => ({
  view: localStorage.getItem(KEY) ?? '',
  go(view) {
    localStorage.setItem(KEY, view);
    set({ view });
  },
  showTimelineAt(ts) {
    localStorage.setItem(KEY, 'timeline');
    set({ view: 'timeline', timelineAt: ts });
  },
}));
