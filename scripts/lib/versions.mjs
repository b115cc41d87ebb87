// The firmware's version rules (src/update/update-manifest.ts: VERSION, compareVersions) for the release tool,
// which runs without a build. test/integration/release-versions.test.ts checks that the two agree.

/** "MAJOR.MINOR.PATCH[-pre]", no build metadata. */
export const VERSION = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-([0-9A-Za-z.-]{1,40}))?$/;

/** Semantic version order as the firmware compares (src/update/update-manifest.ts compareVersions). */
export function compareVersions(a, b) {
  const x = VERSION.exec(a);
  const y = VERSION.exec(b);
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  const [pa, pb] = [x[4], y[4]];
  if (pa === undefined || pb === undefined) return pa === pb ? 0 : pa === undefined ? 1 : -1;
  const [ia, ib] = [pa.split("."), pb.split(".")];
  for (let i = 0; i < Math.max(ia.length, ib.length); i++) {
    const [s, t] = [ia[i], ib[i]];
    if (s === undefined) return -1;
    if (t === undefined) return 1;
    const [ns, nt] = [/^\d+$/.test(s), /^\d+$/.test(t)];
    if (ns && nt) {
      const d = Number(s) - Number(t);
      if (d !== 0) return d < 0 ? -1 : 1;
    } else if (ns !== nt) return ns ? -1 : 1;
    else if (s !== t) return s < t ? -1 : 1;
  }
  return 0;
}

