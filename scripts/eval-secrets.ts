// npm run eval:secrets: recall and false-positive rate of the clipboard relay's secret filter over
// the labelled corpus (main/agents/secret-corpus.ts); writes bench-results/secrets.json.
import fs from 'node:fs';
import path from 'node:path';
import { detectSecret } from '../main/agents/clipboard-secrets';
import { secretCorpus } from '../main/agents/secret-corpus';

async function main(): Promise<void> {
const { secrets, harmless } = secretCorpus();
const missed: { kind: string; text: string }[] = [];
const flagged: { kind: string; as: string; text: string }[] = [];
for (const s of secrets) if (!(await detectSecret(s.text))) missed.push(s);
for (const h of harmless) {
  const as = await detectSecret(h.text);
  if (as) flagged.push({ ...h, as });
}
const kinds = new Set(secrets.map((s) => s.kind)).size;
const result = {
  secrets: secrets.length,
  kinds,
  harmless: harmless.length,
  recall: (secrets.length - missed.length) / secrets.length,
  falsePositiveRate: flagged.length / harmless.length,
  missed: missed.map((m) => m.kind),
  flagged: flagged.map((f) => `${f.kind} (as ${f.as})`),
};
const show = (t: string): string => t.replace(/[A-Za-z0-9]/g, (c, i: number) => (i < 12 ? c : '•')).slice(0, 60);
console.log(`secrets: ${result.secrets} of ${kinds} kinds; harmless look-alikes: ${result.harmless}`);
console.log(`recall ${(result.recall * 100).toFixed(1)} % (target ≥ 98 %), false positives ${(result.falsePositiveRate * 100).toFixed(1)} % (target ≤ 1 %)`);
for (const m of missed) console.log(`  missed  ${m.kind}: ${show(m.text)}`);
for (const f of flagged) console.log(`  flagged ${f.kind} as ${f.as}: ${f.text.slice(0, 70)}`);
fs.mkdirSync('bench-results', { recursive: true });
fs.writeFileSync(path.join('bench-results', 'secrets.json'), JSON.stringify(result, null, 2));
}

void main();
