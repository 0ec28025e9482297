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
  readonly nodes: readonly FindingNode[];
}

/** One element a finding names, and why (`reasons`: axe-core's message keys for its checks' outcomes). */
export interface FindingNode {
  readonly target: readonly unknown[];
  readonly summary: string;
  readonly reasons: readonly string[];
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
          nodes: rule.nodes.map((node) => ({
            target: node.target,
            summary: node.failureSummary ?? '',
            reasons: [...node.any, ...node.all, ...node.none].map((check) => check.data?.messageKey).filter(Boolean),
          })),
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
 * Why axe-core cannot measure the contrast of text that something overlaps: here, the rows of the results
 * table scrolled under its sticky header. Each row style is also measured where it is in view.
 */
const OVERLAP = new Set(['bgOverlap', 'elmPartiallyObscured', 'elmPartiallyObscuring', 'outsideViewport']);

/** Undecided findings a reviewer would have to look at: all of them, but contrast of overlapped text. */
function needingReview(incomplete: readonly Finding[]): Finding[] {
  return incomplete
    .map((finding) =>
      finding.id !== 'color-contrast'
        ? finding
        : { ...finding, nodes: finding.nodes.filter((node) => !node.reasons.some((reason) => OVERLAP.has(reason))) },
    )
    .filter((finding) => finding.nodes.length > 0);
}

/**
 * Fails, listing each finding readably, when the page in its current state breaks a WCAG 2.1 A/AA rule.
 * What axe-core leaves undecided fails too (an undecided ARIA rule is the same fault as a broken one, on an
 * element that happens to hold text), except contrast it cannot measure for an overlap.
 */
export async function expectNoWcagViolations(page: Page, state: string): Promise<void> {
  const audit = await auditAccessibility(page);
  const undecided = needingReview(audit.incomplete);
  const report = [
    audit.violations.length > 0 ? `Violations:\n${describeFindings(audit.violations)}` : '',
    undecided.length > 0 ? `Needing review:\n${describeFindings(undecided)}` : '',
  ].filter(Boolean);
  if (report.length > 0) {
    throw new Error(`The web form breaks WCAG 2.1 A/AA (${state}):\n${report.join('\n')}`);
  }
}
