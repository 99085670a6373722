// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and
// by file, and inclusive time of the heaviest call paths' functions. Prints
// plain text for people.
//
//   node bench/lib/profile-summary.mjs /tmp/prof/CPU.*.cpuprofile [top=25]

import { readFileSync } from "node:fs";

const file = process.argv[2];
const TOP = Number(process.argv[3] ?? 25);
const prof = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const label = (n) => {
  const f = n.callFrame;
  const url = f.url.replace(/^file:\/\/.*?\/(server|sdk|node_modules)\//, "$1/");
  return `${f.functionName || "(anonymous)"} ${url ? url.split("/").slice(-2).join("/") : ""}:${f.lineNumber + 1}`;
};
const fileOf = (n) => {
  const u = n.callFrame.url;
  if (!u) return n.callFrame.functionName.startsWith("(") ? n.callFrame.functionName : "(native)";
  const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(u);
  if (m) return m[1];
  return u.replace(/^file:\/\/.*?\/server\/dist\/src\//, "").replace(/^node:/, "node:");
};

const agg = (key) => {
  const m = new Map();
  for (const [id, t] of self) {
    const k = key(byId.get(id));
    m.set(k, (m.get(k) ?? 0) + t);
  }
  return [...m].sort((a, b) => b[1] - a[1]);
};
// Inclusive: each sample counts once for every distinct function on its stack.
const incl = new Map();
for (const [id, t] of self) {
  const seen = new Set();
  for (let x = id; x !== undefined; x = parent.get(x)) {
    const k = label(byId.get(x));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + t);
  }
}
const pct = (t) => `${((t / total) * 100).toFixed(1).padStart(5)}%`;
console.log(`total sampled ${(total / 1000).toFixed(0)} ms (${file})`);
console.log(`\nself time by file/package:`);
for (const [k, t] of agg(fileOf).slice(0, TOP)) console.log(`${pct(t)}  ${k}`);
console.log(`\nself time by function:`);
for (const [k, t] of agg(label).slice(0, TOP)) console.log(`${pct(t)}  ${k}`);
console.log(`\ninclusive time by function:`);
for (const [k, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, TOP * 2)) console.log(`${pct(t)}  ${k}`);
