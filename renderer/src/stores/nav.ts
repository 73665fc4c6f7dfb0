import { create } from 'zustand';

const KEY = 'omnisight.view';

interface NavState {
  view: string;
  go(view: string): void;
}

export const useNav = create<NavState>((set) => ({
  view: localStorage.getItem(KEY) ?? '',
  go(view) {
    localStorage.setItem(KEY, view);
    set({ view });
  },
}));
