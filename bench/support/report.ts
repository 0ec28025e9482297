/**
 * What a benchmark hands back, and how the suite prints and stores it. Every figure is paired with the
 * reference measured in the same run, so the ratio holds on a noisy shared machine where absolute
 * figures drift from run to run.
 */

/** One measured figure. `ratio` is against `reference` (another row's label), always "higher is better". */
export interface Row {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  /** Free text shown after the figure: how it was measured (best of N, sample size, ...). */
  readonly detail?: string;
  /** The label of the row this one is compared with. */
  readonly reference?: string;
  readonly ratio?: number;
}

/** One target of the issue, checked against this run's figures. */
export interface TargetCheck {
  readonly target: string;
  /** The figure the target was judged on, as printed. */
  readonly measured: string;
  /** `undefined` when the figure could not be measured (a skipped row). */
  readonly met: boolean | undefined;
}

export interface BenchmarkResult {
  readonly name: string;
  readonly title: string;
  readonly rows: Row[];
  readonly targets: TargetCheck[];
  /** Method notes and findings worth reading next to the figures. */
  readonly notes: string[];
  /** Set when the benchmark, or part of it, could not run here; says why and how to make it run. */
  readonly skipped: string[];
  readonly seconds: number;
  /**
   * The 1-minute load average when the benchmark started and ended: above the core count, other work
   * competed for the cores, which hurts most the paths that use both cores.
   */
  readonly load: readonly [number, number];
  /** Set when the benchmark broke (wrong digests, a server that would not start): the run exits 1. */
  readonly error?: string;
}

/** Collects a benchmark's figures as it goes, so a failure half-way still reports what was measured. */
export class ResultBuilder {
  readonly rows: Row[] = [];
  readonly targets: TargetCheck[] = [];
  readonly notes: string[] = [];
  readonly skipped: string[] = [];

  constructor(
    readonly name: string,
    readonly title: string,
  ) {}

  row(row: Row): Row {
    this.rows.push(row);
    return row;
  }

  /** Adds `row` with its ratio against `reference` (value / reference value, or the inverse for costs). */
  compared(row: Omit<Row, 'ratio' | 'reference'>, reference: Row, lowerIsBetter = false): Row {
    const ratio = lowerIsBetter ? reference.value / row.value : row.value / reference.value;
    return this.row({ ...row, reference: reference.label, ratio });
  }

  target(target: string, measured: string, met: boolean | undefined): void {
    this.targets.push({ target, measured, met });
  }

  note(text: string): void {
    this.notes.push(text);
  }

  skip(text: string): void {
    this.skipped.push(text);
  }

  build(seconds: number, load: readonly [number, number], error?: string): BenchmarkResult {
    return {
      name: this.name,
      title: this.title,
      rows: this.rows,
      targets: this.targets,
      notes: this.notes,
      skipped: this.skipped,
      seconds,
      load,
      ...(error === undefined ? {} : { error }),
    };
  }
}

/** `1234.5` → `1,234.5`, with `digits` decimals. */
export function formatNumber(value: number, digits = 1): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}×`;
}

function statusWord(met: boolean | undefined): string {
  if (met === undefined) return 'NOT MEASURED';
  return met ? 'met' : 'NOT MET';
}

/** The human summary of one benchmark: a table of rows, then targets, notes and skips. */
export function formatResult(result: BenchmarkResult): string {
  const load = result.load.map((l) => l.toFixed(1)).join(' → ');
  const lines: string[] = [`== ${result.name}: ${result.title} (${formatNumber(result.seconds, 0)} s, load average ${load})`];
  if (result.rows.length > 0) {
    const cells = result.rows.map((row) => [
      row.label,
      `${formatNumber(row.value, row.value >= 100 ? 0 : 1)} ${row.unit}`,
      row.ratio === undefined ? '' : `${formatRatio(row.ratio)} ${row.reference}`,
      row.detail ?? '',
    ]);
    const widths = [0, 1, 2].map((i) => Math.max(...cells.map((c) => c[i]!.length)));
    for (const c of cells) {
      lines.push(`  ${c[0]!.padEnd(widths[0]!)}  ${c[1]!.padStart(widths[1]!)}  ${c[2]!.padEnd(widths[2]!)}  ${c[3]}`.trimEnd());
    }
  }
  for (const t of result.targets) lines.push(`  target ${statusWord(t.met)}: ${t.target} (measured ${t.measured})`);
  for (const s of result.skipped) lines.push(`  skipped: ${s}`);
  for (const n of result.notes) lines.push(`  note: ${n}`);
  if (result.error !== undefined) lines.push(`  ERROR: ${result.error}`);
  return lines.join('\n');
}

/** The closing block: every target of the run, one line each. */
export function formatTargets(results: readonly BenchmarkResult[]): string {
  const lines = ['== targets'];
  for (const result of results) {
    for (const t of result.targets) lines.push(`  ${statusWord(t.met).padEnd(12)} ${result.name}: ${t.target} (${t.measured})`);
    if (result.error !== undefined) lines.push(`  ${'ERROR'.padEnd(12)} ${result.name}: ${result.error.split('\n')[0]}`);
  }
  return lines.join('\n');
}
