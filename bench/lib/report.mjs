/** Percentiles, number formatting and the plain-text tables every scenario prints. */

/** Summary of latency samples in milliseconds (sorted copy; the input is left alone). */
export function latencySummary(samples) {
  if (samples.length === 0) return { count: 0, p50: null, p99: null, max: null };
  const sorted = Float64Array.from(samples).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Formats a number for a table cell; `null` (not measured) prints as a dash. */
export function fmt(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  if (typeof value === "string") return value;
  if (Math.abs(value) >= 1000 || Number.isInteger(value)) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(digits);
}

export const MiB = 1024 * 1024;
export const KiB = 1024;

/**
 * Prints a table with a title. `columns` are `[header, (row) => cell]`; numbers are right-aligned.
 * @param {string} title
 * @param {Array<[string, (row: any) => unknown]>} columns
 * @param {any[]} rows
 */
export function printTable(title, columns, rows) {
  const cells = rows.map((row) => columns.map(([, get]) => get(row)));
  const text = cells.map((row) =>
    row.map((cell) => (typeof cell === "number" ? fmt(cell) : fmt(cell ?? null))),
  );
  const widths = columns.map(([header], i) => Math.max(header.length, ...text.map((row) => row[i].length)));
  const line = (values, numeric) =>
    values
      .map((value, i) => (numeric?.[i] ? value.padStart(widths[i]) : value.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const out = [`\n${title}`, line(columns.map(([header]) => header)), line(widths.map((w) => "-".repeat(w)))];
  cells.forEach((row, r) => {
    out.push(
      line(
        text[r],
        row.map((cell) => typeof cell === "number"),
      ),
    );
  });
  process.stdout.write(`${out.join("\n")}\n`);
}

/** Ratio `a / b`, or null when either side is missing. */
export function ratio(a, b) {
  return a === null || b === null || a === undefined || b === undefined || b === 0 ? null : a / b;
}
