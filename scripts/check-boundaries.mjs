// npm run check:boundaries — the import rules of ARCHITECTURE.md, checked over main/:
//  1. a file under main/<capability>/ reaches another capability only through its index.ts
//     (main/kernel is the one folder that may be imported file by file); test code (*.test.ts and
//     test kits) may also import another capability's test kit, main/<capability>/testkit.ts;
//     the kernel imports no capability at all;
//  2. no import cycles (type-only imports count: a cycle of types is still a knot to untie).
// Prints every deep import and every cycle (one line per strongly connected component) and exits 1
// when there is any. Imports are read with TypeScript's own pre-processor (static, type-only,
// re-exports, dynamic import() and require of string literals), so nothing is guessed by regex.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '..');
const KERNEL = 'kernel';

/** Every .ts/.tsx file under dir (tests included: a test reaching into another folder is coupled too). */
function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== '__snapshots__') out.push(...walk(p));
    } else if (/\.(ts|tsx|mts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The file a relative specifier names, or null when it leaves the tree we know (a package). */
function resolve(fromFile, spec) {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(fromFile), spec);
  const noJs = base.replace(/\.(m?js)$/, '');
  const candidates = [base, `${noJs}.ts`, `${noJs}.tsx`, `${noJs}.mts`, path.join(base, 'index.ts'), path.join(base, 'index.tsx')];
  for (const c of candidates) if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  return null;
}

/** The capability (first folder under main/) a file belongs to; '' for files directly in main/. */
function capabilityOf(mainDir, file) {
  const rel = path.relative(mainDir, file).split(path.sep);
  return rel.length > 1 ? rel[0] : '';
}

/** Tests and test kits: the files that may use another capability's testkit.ts. */
const isTestCode = (file) => /\.test\.tsx?$/.test(file) || /(^|[\\/])(testkit|testing)\.ts$/.test(file);


/** Checks every file under mainDir; paths in the answer are relative to mainDir's parent. */
export function checkBoundaries(mainDir = path.join(root, 'main')) {
  const rel = (f) => path.relative(path.dirname(mainDir), f).split(path.sep).join('/');
  const files = walk(mainDir);
  const graph = new Map();
  const deep = [];
  for (const file of files) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const targets = new Set();
    for (const ref of info.importedFiles) {
      const target = resolve(file, ref.fileName);
      if (!target || !target.startsWith(mainDir + path.sep)) continue;
      targets.add(target);
      const from = capabilityOf(mainDir, file);
      const to = capabilityOf(mainDir, target);
      if (!to || to === from || to === KERNEL) continue;
      if (from === KERNEL) {
        deep.push({ from: rel(file), to: rel(target), spec: ref.fileName, why: 'the kernel imports no capability' });
        continue;
      }
      const top = path.dirname(target) === path.join(mainDir, to);
      const isIndex = top && /^index\.tsx?$/.test(path.basename(target));
      const isTestkit = top && path.basename(target) === 'testkit.ts' && isTestCode(file);
      if (!isIndex && !isTestkit) deep.push({ from: rel(file), to: rel(target), spec: ref.fileName });
    }
    graph.set(file, [...targets]);
  }
  return { files: files.length, deep, cycles: stronglyConnected(graph).map((c) => c.map(rel).sort()) };
}

/** Tarjan's algorithm, iterative (deep import chains must not overflow the stack). Returns every
 * component with more than one file, or one file importing itself. */
function stronglyConnected(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const out = [];
  for (const start of graph.keys()) {
    if (idx.has(start)) continue;
    const work = [[start, 0]];
    idx.set(start, index); low.set(start, index); index++;
    stack.push(start); onStack.add(start);
    while (work.length) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      const edges = graph.get(v) ?? [];
      if (i < edges.length) {
        frame[1]++;
        const w = edges[i];
        if (!graph.has(w)) continue;
        if (!idx.has(w)) {
          idx.set(w, index); low.set(w, index); index++;
          stack.push(w); onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(v)));
      }
      if (low.get(v) === idx.get(v)) {
        const comp = [];
        let w;
        do { w = stack.pop(); onStack.delete(w); comp.push(w); } while (w !== v);
        if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp);
      }
    }
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { files, deep, cycles } = checkBoundaries();
  for (const d of deep) console.log(`deep import: ${d.from} -> ${d.to} (import '${d.spec}'; ${d.why ?? 'export it from its index.ts, or testkit.ts for tests'})`);
  for (const c of cycles) console.log(`import cycle (${c.length} files): ${c.join(' <-> ')}`);
  console.log(`${files} files under main/: ${deep.length} deep cross-capability import(s), ${cycles.length} import cycle(s)`);
  process.exit(deep.length || cycles.length ? 1 : 0);
}
