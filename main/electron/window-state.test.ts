import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../app/testkit';
import { loadWindowState, restoreBounds, saveWindowState, type WindowState } from './window-state';

const laptop = { x: 0, y: 0, width: 1920, height: 1050 };
const monitor = { x: 1920, y: 0, width: 2560, height: 1400 };
const state = (r: Partial<WindowState>): WindowState => ({ x: 100, y: 80, width: 1200, height: 800, maximized: false, fullScreen: false, ...r });

describe('window state', () => {
  it('is kept across launches in the data folder', () => {
    const dir = tempDir();
    expect(loadWindowState(dir)).toBeUndefined();
    saveWindowState(dir, state({ x: 2000.4, maximized: true }));
    expect(loadWindowState(dir)).toEqual(state({ x: 2000, maximized: true }));
  });

  it('ignores a damaged or hand-edited file instead of failing the start', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'window-state.json'), '{"x": 1, "y":');
    expect(loadWindowState(dir)).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'window-state.json'), JSON.stringify({ ...state({}), width: 1e9, evil: true }));
    expect(loadWindowState(dir)).toBeUndefined();
  });

  it('puts the window back on the display that still shows it', () => {
    expect(restoreBounds(state({ x: 2100, y: 100 }), [laptop, monitor])).toEqual({ x: 2100, y: 100, width: 1200, height: 800 });
  });

  it('moves it to the primary display when its monitor was unplugged', () => {
    expect(restoreBounds(state({ x: 2100, y: 100 }), [laptop])).toEqual({ x: 240, y: 75, width: 1440, height: 900 });
  });

  it('shrinks and pulls it inside a smaller display, keeping the title bar reachable', () => {
    const small = { x: 0, y: 0, width: 1280, height: 720 };
    expect(restoreBounds(state({ x: 600, y: 300, width: 1400, height: 900 }), [small])).toEqual({ x: 0, y: 0, width: 1280, height: 720 });
    expect(restoreBounds(state({ x: 100, y: -500 }), [laptop])).toMatchObject({ x: 240, y: 75 }); // title bar above every display
  });

  it('opens at the default size centred when nothing was saved', () => {
    expect(restoreBounds(undefined, [laptop])).toEqual({ x: 240, y: 75, width: 1440, height: 900 });
  });
});
