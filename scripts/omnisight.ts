// `npx omnisight …` entry: the logic is main/agents/cli.ts (the packaged app runs the same code for
// `OmniSight mcp …`). electron-vite builds this file to out/main/cli.js; scripts/omnisight.mjs runs
// that when present and this source through tsx otherwise.
import { runCli } from '../main/agents/cli';

void runCli(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exitCode = code;
});
