import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** The built dashboard, as `npm run build` makes it: small, self-contained, and prefix-agnostic. */
describe("the dashboard build", () => {
  let dir: string;
  let script: Buffer;
  let page: string;

  beforeAll(() => {
    // The real build script, into a directory of its own (the last --outdir wins), so that tests serving
    // dist/dashboard at the same time never read a half-written file.
    dir = mkdtempSync(join(tmpdir(), "pma-dashboard-build-"));
    execFileSync("npm", ["run", "--silent", "build:dashboard", "--", `--outdir=${dir}`], {
      stdio: "inherit",
    });
    script = readFileSync(join(dir, "app.js"));
    page = readFileSync(join(dir, "index.html"), "utf8");
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("stays within its size budget (64 kB minified, 24 kB gzipped)", () => {
    expect(script.length).toBeLessThan(64 * 1024);
    expect(gzipSync(script).length).toBeLessThan(24 * 1024);
  });

  it("loads nothing from another origin, so it works offline and under any path prefix", () => {
    expect(page).toContain('src="dashboard/app.js"');
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(script.toString()).not.toMatch(/import\s*\(?\s*["']https?:/);
  });

  it("keeps the marker where the ingress <base> goes", () => {
    expect(page).toContain("<!--base-->");
  });
});
