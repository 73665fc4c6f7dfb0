// npm run conformance -- --host H [--port P] [--https] --user U --password PW [--json]
// Checks a camera's VAPIX surface against Axis's documented shapes; one line per API:
// PASS / FAIL / ABSENT. Exit 0 when nothing failed, 1 when something did, 2 on bad arguments.
import { formatReport, runConformance, type Target } from './conformance/axis';

function parseArgs(argv: string[]): Target & { json: boolean } {
  const out: Partial<Target> & { json: boolean } = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--host':
        out.host = value();
        break;
      case '--port': {
        const p = Number(value());
        if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error('--port must be 1..65535');
        out.port = p;
        break;
      }
      case '--https':
        out.https = true;
        break;
      case '--user':
        out.user = value();
        break;
      case '--password':
        out.password = value();
        break;
      case '--json':
        out.json = true;
        break;
      default:
        throw new Error(`unknown option ${flag}; usage: conformance --host H [--port P] [--https] --user U --password PW [--json]`);
    }
  }
  if (!out.host || !out.user || out.password === undefined) throw new Error('--host, --user and --password are required');
  return out as Target & { json: boolean };
}

async function main(): Promise<void> {
  let args: Target & { json: boolean };
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`conformance: ${(e as Error).message}`);
    process.exit(2);
  }
  const results = await runConformance(args);
  process.stdout.write(`${args.json ? JSON.stringify(results, null, 2) : formatReport(results)}\n`);
  process.exit(results.some((r) => r.outcome === 'fail') ? 1 : 0);
}

main().catch((e: unknown) => {
  console.error(`conformance: ${(e as Error).message}`);
  process.exit(1);
});
