// The simulator's public types (re-exported by index.ts; kept apart so no file imports index.ts).
export interface SimUser {
  username: string;
  password: string;
  role: 'administrator' | 'operator' | 'viewer';
}

export interface SimCameraInfo {
  id: string;
  url: string;
  /** HTTPS on 127.0.0.1 with the same routes and Digest; self-signed certificate kept in the camera's state dir. */
  httpsPort: number;
  username: string;
  password: string;
  serial: string;
  model: string;
  mac: string;
  soc: 'Axis Artpec-8' | 'Axis Artpec-9';
  /** All three accounts (administrator, operator, viewer), for tests of roles. */
  users?: SimUser[];
}

export interface SimFleetOptions {
  cameras: number;
  /** 0 or absent = ephemeral ports; otherwise camera i listens on basePort + i. */
  basePort?: number;
  /** Camera i serves HTTPS on httpsBasePort + i; absent: basePort + cameras + i when basePort is set, else ephemeral. */
  httpsBasePort?: number;
  seed?: number;
  /** Default broker URL to suggest; cameras only connect after VAPIX activateClient. */
  broker?: string;
  frameWidth?: number;
  frameHeight?: number;
  now?: () => number;
  /**
   * How uploaded programs run: 'auto' (default) runs aarch64 programs under qemu-aarch64-static
   * when it is on PATH, else the built-in agent; 'agent' always uses the built-in agent.
   */
  apps?: 'auto' | 'agent';
  /** Every camera runs this AXIS OS version instead of its model's (e.g. '8.40.3' for a camera from before API discovery). */
  firmware?: string;
  /** Where cameras keep installed apps and their HTTPS certificate (a temp folder by default; removed on stop). */
  dataDir?: string;
  /** Sensor frames the detector processes per second (default 10). */
  fpsCamera?: number;
  /**
   * Bench fleets: every camera's MQTT client starts active with `broker` (no VAPIX configuration
   * needed) and its built-in app keeps fl2 training data in memory only. Video costs nothing
   * unless a client asks for a stream.
   */
  lite?: boolean;
}

export interface SimFaults {
  refuseConnections(on: boolean): void;
  stallStream(on: boolean): void;
  slowReplies(ms: number): void;
  corruptNextFrames(n: number): void;
  dropMqtt(on: boolean): void;
  crash(): Promise<void>;
  restart(): Promise<void>;
  /** The next upload.cgi takes this many body bytes, then the camera crashes (as if it lost power). */
  crashDuringUpload(afterBytes: number): void;
  /** The built-in agent reports, with confidence, a person who is not there (in the camera's first zone when it covers one). */
  lie(on: boolean): void;
  /** The built-in agent follows each detections message with a conflicting signed one for the same track and frame. */
  equivocate(on: boolean): void;
  /**
   * The built-in agent stops answering federated rounds from this fl2 phase on ('advertise',
   * 'shares', 'masked', 'unmask'): a real dropout mid-round. null answers again.
   */
  flSilence(phase: 'advertise' | 'shares' | 'masked' | 'unmask' | null): void;
}

export type SimActorClass = 'Human' | 'Car' | 'Truck' | 'Bike';

export interface SimZone {
  id: string;
  name: string;
  /** Ground-plane polygon in metres (x east, y north). */
  polygon: readonly (readonly [number, number])[];
  restricted: boolean;
}

export interface SimActor {
  id: string;
  kind: SimActorClass;
  /** Centre of the footprint on the ground, metres. */
  x: number;
  y: number;
  /** Direction of travel, radians from +x. */
  heading: number;
  /** Current speed, m/s (0 while stopped). */
  speed: number;
  length: number;
  width: number;
  height: number;
}

export interface SimCalibration {
  cameraId: string;
  /** Camera centre in metres; z is the mounting height. */
  position: { x: number; y: number; z: number };
  /** Look direction: yaw from +x (radians), pitch below the horizon (radians). */
  yaw: number;
  pitch: number;
  hfovDeg: number;
  /** Image width / height the calibration assumes (16:9). */
  aspect: number;
  /** Row-major 3×3 homography mapping ground (x, y, 1) in metres to normalised image (u, v, 1), u,v in 0..1. */
  homography: number[];
  /** Ids of the zones whose area this camera sees (mostly). */
  zones: string[];
  /** Beyond this distance the detector sees nothing. */
  maxRangeM: number;
}

export interface SimScene {
  /** Ground plane size in metres. */
  width: number;
  height: number;
  zones: readonly SimZone[];
  cameras: readonly SimCalibration[];
  /** Ground truth at (or just before) time t (ms since epoch); times older than the short history return the oldest kept. */
  actorsAt(t: number): SimActor[];
  /** Project a world point (metres) into a camera's normalised image; undefined when behind it. */
  project(cameraId: string, x: number, y: number, z: number): { u: number; v: number; depth: number } | undefined;
}

export interface SimFleet {
  cameras: SimCameraInfo[];
  /** Fault switches for tests. */
  faults(id: string): SimFaults;
  /** Read-only view of the ground truth (actors, zones, camera calibrations). */
  scene: SimScene;
  /** 'native' when uploaded aarch64 programs really run (qemu), 'agent' when the built-in agent stands in. */
  appMode: 'native' | 'agent';
  /** The same in words, for logs and the UI. */
  appNote: string;
  /** The built-in agent's signing key (what identity.cgi shows): bench fleets print it instead of each bench enrolling over VAPIX. */
  agentKey(id: string): { key: string; publicKey: string };
  /** Simulator-only test view: the files the camera's installer unpacked for an app (a real camera's list.cgi does not show them). */
  installedFiles(id: string, app: string): readonly string[] | undefined;
  stop(): Promise<void>;
}


// ---- inside the simulator (not re-exported) ----

export interface CameraIdentity {
  id: string;
  serial: string;
  mac: string;
  prodNbr: string;
  prodFullName: string;
  prodType: string;
  soc: 'Axis Artpec-8' | 'Axis Artpec-9';
  firmware: string;
  users: SimUser[];
}

export interface SimCamera {
  identity: CameraIdentity;
  port(): number;
  /** The HTTPS port: the same routes and Digest over TLS with the camera's own self-signed certificate. */
  httpsPort(): number;
  /** SHA-256 fingerprint of the camera's certificate (after start), for the fleet's own logs and tests. */
  tlsFingerprint(): string;
  faults: SimFaults;
  agentKey(): { key: string; publicKey: string };
  installedFiles(app: string): readonly string[] | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The fault switches' live state, shared by the endpoint modules of one camera. */
export interface FaultState {
  refuse: boolean;
  stall: boolean;
  slowMs: number;
  corrupt: number;
  corruptVariant: number;
  dropMqtt: boolean;
  crashUploadAfter: number;
}
