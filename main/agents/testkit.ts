// Test helpers: a real database, rooms service and bridge on 127.0.0.1 in a temporary folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createAuditLog, type AuditLog } from '../audit';
import { createEventBus, type EventBus } from '../kernel/bus';
import { createRoomsService, type RoomsService } from '../rooms';
import { openDatabase, type Db } from '../store';
import { createAgentBridge, type AgentBridge } from './index';

export interface Rig {
  dir: string;
  db: Db;
  bus: EventBus;
  audit: AuditLog;
  rooms: RoomsService;
  bridge: AgentBridge;
  url: string;
  clock: { t: number };
  /** Close everything; keep the folder unless asked. */
  stop(removeDir?: boolean): Promise<void>;
}

export async function startRig(opts: { dir?: string; idleMs?: number; maxBehindBytes?: number; desktopConfigFile?: string; realClock?: boolean; clockStart?: number } = {}): Promise<Rig> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-'));
  const clock = { t: opts.clockStart ?? 1_700_000_000_000 };
  const now = opts.realClock ? Date.now : () => clock.t;
  const { db } = openDatabase({ dir, now });
  const bus = createEventBus();
  const log = pino({ level: 'silent' });
  const audit = createAuditLog({ db, bus, now });
  const rooms = createRoomsService({ db, bus, now, dataDir: dir, log });
  const bridge = createAgentBridge({ db, bus, audit, rooms, log, now, dataDir: dir, idleMs: opts.idleMs, maxBehindBytes: opts.maxBehindBytes, desktopConfigFile: opts.desktopConfigFile, mcpLaunch: { command: 'node', args: ['/x/omnisight.mjs'] },
    // A stand-in for main/fleet/approval (no fleet here): any build and camera ids are accepted.
    proposeDeploy: (i) => rooms.propose({ roomId: i.roomId, by: i.by, kind: 'deploy', title: `Deploy ${i.build}`, subject: `deploy ${i.cameraIds.join(' ')}`, outcome: `deploy ${i.build}`, rule: i.rule, deadlineMs: i.deadlineMs }),
  });
  const port = await bridge.start();
  return {
    dir,
    db,
    bus,
    audit,
    rooms,
    bridge,
    url: `ws://127.0.0.1:${port}`,
    clock,
    async stop(removeDir = true) {
      await bridge.close();
      rooms.close();
      db.close();
      if (removeDir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const refusals = (rig: Rig): { reason: string; source: string }[] =>
  (rig.db.prepare("SELECT source, detail FROM audit_events WHERE kind = 'agents.refused' ORDER BY id").all() as { source: string; detail: string }[]).map((r) => ({
    source: r.source,
    reason: (JSON.parse(r.detail) as { reason: string }).reason,
  }));
