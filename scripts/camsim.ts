// npm run camsim -- --cameras N [--base-port P] [--broker mqtt://127.0.0.1:1883] [--seed S] [--data-dir DIR] [--lite] [--fps F]
// Prints one JSON line per simulated camera, then serves until SIGINT/SIGTERM (exit 0).
// --lite (bench fleets, needs --broker): every camera connects to the broker at start without VAPIX
// configuration, keeps its fl1 training data in memory, and its line adds the agent's signing key
// (key id and raw public key, as identity.cgi gives them) so a bench can verify its messages.
import { startSimulatedFleet } from '../main/camsim';

interface Args {
  cameras: number;
  basePort?: number;
  broker?: string;
  seed?: number;
  dataDir?: string;
  lite?: boolean;
  fpsCamera?: number;
}

function parseArgs(argv: string[]): Args {
  const out: Args = { cameras: 4 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (min: number, max: number): number => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${flag} must be an integer from ${min} to ${max}`);
      return v;
    };
    switch (flag) {
      case '--cameras':
        out.cameras = int(1, 256);
        break;
      case '--base-port':
        out.basePort = int(0, 65535);
        break;
      case '--broker':
        out.broker = value();
        break;
      case '--seed':
        out.seed = int(0, 0xffffffff);
        break;
      case '--data-dir':
        // Kept between runs (with the same --seed): installed apps and each camera's HTTPS certificate survive.
        out.dataDir = value();
        break;
      case '--lite':
        out.lite = true;
        break;
      case '--fps':
        out.fpsCamera = int(1, 30);
        break;
      default:
        throw new Error(`unknown option ${flag}; usage: camsim --cameras N [--base-port P] [--broker mqtt://…] [--seed S] [--data-dir DIR] [--lite] [--fps F]`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const fleet = await startSimulatedFleet(args);
  for (const c of fleet.cameras) {
    const line: Record<string, unknown> = { id: c.id, url: c.url, httpsPort: c.httpsPort, username: c.username, password: c.password, serial: c.serial, model: c.model };
    if (args.lite) Object.assign(line, fleet.agentKey(c.id));
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    fleet.stop().finally(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((e: unknown) => {
  console.error(`camsim: ${(e as Error).message}`);
  process.exit(2);
});
