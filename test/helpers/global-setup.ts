/** Runs once before the suite: says which Node runs the tests, so CI logs prove the pinned Node 24 is used. */
export default function setup(): void {
  process.stdout.write(`[pma-bridge tests] node ${process.version} (${process.execPath})\n`);
}
