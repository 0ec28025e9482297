import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

/** The rules of WCAG 2.0 and 2.1, levels A and AA, as axe-core tags them. */
export const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] as const;

/** One rule the page breaks, or one axe-core could not decide, and where. */
export interface Finding {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly unknown[]; readonly summary: string }[];
}

/** What axe-core found: rules broken, and rules it could not decide on its own ("needs review"). */
export interface Audit {
  readonly violations: readonly Finding[];
  readonly incomplete: readonly Finding[];
}

let axeSource: string | undefined;

/**
 * Runs axe-core, the engine behind the browsers' accessibility audits, over the whole page as it stands,
 * on the WCAG 2.1 A/AA rules only. The engine is evaluated in the page rather than added as a script tag:
 * the page's Content-Security-Policy refuses inline scripts, as it should.
 */
export async function auditAccessibility(page: Page): Promise<Audit> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate<boolean>("typeof window.axe === 'object'"))) await page.evaluate(axeSource);
  // (Page scripts are strings here: the tests compile without the DOM library.)
  return page.evaluate<Audit>(`
    axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(WCAG_21_AA)} }, resultTypes: ['violations', 'incomplete'] })
      .then((results) => {
        const findings = (list) => list.map((rule) => ({
          id: rule.id,
          impact: rule.impact ?? null,
          help: rule.help,
          nodes: rule.nodes.map((node) => ({ target: node.target, summary: node.failureSummary ?? '' })),
        }));
        return { violations: findings(results.violations), incomplete: findings(results.incomplete) };
      })
  `);
}

/** Findings as lines a failing test prints: rule, impact, what it asks, each element's selector and why. */
export function describeFindings(findings: readonly Finding[]): string {
  return findings
    .map(
      (f) =>
        `${f.id} (${f.impact ?? 'no impact given'}): ${f.help}\n` +
        f.nodes.map((n) => `  at ${JSON.stringify(n.target)}\n    ${n.summary.replace(/\n/g, '\n    ')}`).join('\n'),
    )
    .join('\n');
}

/**
 * Fails, listing each finding readably, when the page in its current state breaks a WCAG 2.1 A/AA rule.
 * Rules axe-core leaves undecided fail too, colour contrast aside: it cannot measure text over an element
 * that overlaps it (rows scrolling under the table's sticky header), while an undecided ARIA rule is the
 * same fault as a broken one on an element that happens to hold text.
 */
export async function expectNoWcagViolations(page: Page, state: string): Promise<void> {
  const audit = await auditAccessibility(page);
  const undecided = audit.incomplete.filter((finding) => finding.id !== 'color-contrast');
  const report = [
    audit.violations.length > 0 ? `Violations:\n${describeFindings(audit.violations)}` : '',
    undecided.length > 0 ? `Needing review:\n${describeFindings(undecided)}` : '',
  ].filter(Boolean);
  if (report.length > 0) {
    throw new Error(`The web form breaks WCAG 2.1 A/AA (${state}):\n${report.join('\n')}`);
  }
}
