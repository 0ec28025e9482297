import { announce, h, uniqueId } from './dom.js';
import { formatBytes, formatCount, isWebUrl } from './format.js';
import type { PastedHash } from './hash-lines.js';
import type { BulkResult, FileVerdict, Match } from './types.js';

/** What looking inside the file found; absent where only the file itself was digested. */
type Inside = NonNullable<FileVerdict['inside']>;
/** A member of the file on the known-bad list. */
type MemberMatch = Inside['matches'][number];

const ALGORITHM_NAMES = { md5: 'MD5', sha1: 'SHA-1', sha256: 'SHA-256' } as const;

/** The verdict words. `unknown` is never called clean or safe: absence from a list proves nothing. */
export const VERDICT_WORDS = {
  malicious: 'Malicious',
  unknown: 'Not on the known-bad list',
} as const;

/** Words for each reason a look inside could not read everything: what happened, for a person. */
export const INCOMPLETE_REASON_WORDS: Readonly<Record<Inside['reasons'][number]['reason'], string>> = {
  encrypted: 'encrypted (protected by a password), so what it holds could not be read',
  corrupt: 'damaged or cut short, so it could not be read to the end',
  unsupported: 'in a format that cannot be opened',
  depth: 'nested too deep: more archives inside archives than the limit allows',
  members: 'holds more files than the limit allows',
  bytes: 'unpacks to more data than the limit allows',
  ratio: 'unpacks to far more than its own size, as an archive bomb does',
  time: 'took longer to open than the time limit allows',
  trailing: 'followed by another archive after its end, which was not opened',
};

/** A member's place: its path chain from the checked file, `tools → eicar.com`; `[]` is the file itself. */
export function memberPlace(path: readonly string[]): string {
  return path.length === 0 ? 'the file itself' : path.join(' → ');
}

/** `12 files inside checked`, or nothing for a file that holds none. */
export function insideCount(inside: Inside | undefined): string | null {
  if (!inside || inside.members === 0) return null;
  return `${formatCount(inside.members)} ${inside.members === 1 ? 'file' : 'files'} inside checked`;
}

/**
 * Whether the answer covers only part of the file: its inside could not be fully read. Absent `inside`
 * (an answer that digested the file itself only) says nothing either way.
 */
function isIncomplete(verdict: FileVerdict): boolean {
  return verdict.inside?.complete === false;
}

/** The banner that states a verdict in colour, icon and words, so no one depends on colour alone. */
function verdictBanner(verdict: FileVerdict): HTMLElement {
  if (verdict.verdict === 'malicious') {
    const throughMember = verdict.matches.length === 0 && (verdict.inside?.matches.length ?? 0) > 0;
    return h(
      'div',
      { class: 'verdict verdict-malicious' },
      h('span', { class: 'verdict-icon', 'aria-hidden': 'true' }, '!'),
      h(
        'div',
        {},
        h(
          'p',
          { class: 'verdict-title' },
          throughMember ? 'Malicious: a file inside it is on the known-bad list' : 'Malicious: this file is on the known-bad list',
        ),
        h('p', { class: 'verdict-advice' }, 'Do not open or run it. Report it to your security team.'),
      ),
    );
  }
  if (isIncomplete(verdict)) {
    return h(
      'div',
      { class: 'verdict verdict-incomplete' },
      h('span', { class: 'verdict-icon', 'aria-hidden': 'true' }, '…'),
      h(
        'div',
        {},
        h('p', { class: 'verdict-title' }, 'Could not be fully checked'),
        h(
          'p',
          { class: 'verdict-advice' },
          'Nothing read so far is on the known-bad list, but part of what this file holds could not be read. Treat it as unchecked.',
        ),
      ),
    );
  }
  return h(
    'div',
    { class: 'verdict verdict-unknown' },
    h('span', { class: 'verdict-icon', 'aria-hidden': 'true' }, '?'),
    h(
      'div',
      {},
      h('p', { class: 'verdict-title' }, VERDICT_WORDS.unknown),
      h('p', { class: 'verdict-advice' }, 'That does not make it safe: the list only holds files already known to be bad.'),
    ),
  );
}

function sourceItem(source: string): HTMLElement {
  return h('li', {}, isWebUrl(source) ? h('a', { href: source, rel: 'noopener noreferrer', target: '_blank' }, source) : source);
}

/** Where a record a scan derived comes from, in words: `Found by a scan (…), contains <path>: <member>`. */
function derivedText(derived: NonNullable<Match['derived']>): string {
  return `Found by a scan on ${derived.at.slice(0, 10)}: contains ${derived.member.path.join(' → ')} (${derived.memberRecord.fileName}, on the list)`;
}

/** The known-bad record that matched: what the file is, in which campaign, and who reported it. */
function matchDetails(match: Match): HTMLElement {
  const row = (term: string, value: Node | string | undefined) =>
    value === undefined || value === '' ? null : h('div', { class: 'detail' }, h('dt', {}, term), h('dd', {}, value));
  return h(
    'dl',
    { class: 'details' },
    row('File name', match.fileName),
    row('Version', match.version),
    row('Platform', match.platform),
    row('Kind', match.kind),
    row('Derived', match.derived && derivedText(match.derived)),
    row('Campaign', match.campaign),
    row('Stage', match.stage),
    row('Confidence', match.confidence),
    row('Sources', match.sources.length > 0 ? h('ul', { class: 'sources' }, ...match.sources.map(sourceItem)) : undefined),
  );
}

/** A copy button for one digest; says what it copied, on the button and to screen readers. */
function copyButton(value: string, label: string): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'copy secondary', 'aria-label': `Copy ${label}` }, 'Copy');
  button.addEventListener('click', () => {
    void copyText(value).then(
      () => {
        button.textContent = 'Copied';
        announce(`${label} copied.`);
        window.setTimeout(() => (button.textContent = 'Copy'), 2000);
      },
      () => announce(`${label} could not be copied: select the text and copy it by hand.`),
    );
  });
  return button;
}

async function copyText(value: string): Promise<void> {
  if (navigator.clipboard) return navigator.clipboard.writeText(value);
  throw new Error('No clipboard');
}

function digests(file: FileVerdict, name: string): HTMLElement {
  const row = (algorithm: keyof typeof ALGORITHM_NAMES, value: string) =>
    h(
      'div',
      { class: 'digest' },
      h('dt', {}, ALGORITHM_NAMES[algorithm]),
      h('dd', {}, h('code', { class: `hash hash-${algorithm}` }, value), copyButton(value, `${ALGORITHM_NAMES[algorithm]} of ${name}`)),
    );
  return h('dl', { class: 'digests' }, row('sha256', file.sha256), row('sha1', file.sha1), row('md5', file.md5));
}

/** A member found on the list: where it is inside the file, its size and SHA-256, and what it matched. */
function memberMatchDetails(member: MemberMatch): HTMLElement {
  return h(
    'div',
    { class: 'member-match' },
    h('p', { class: 'member-path' }, h('span', { class: 'visually-hidden' }, 'Inside: '), member.path.join(' → ')),
    h(
      'p',
      { class: 'member-facts muted' },
      `${formatBytes(member.size)}, SHA-256 `,
      h('code', { class: 'hash member-sha256' }, member.sha256),
    ),
    ...member.matches.map(matchDetails),
  );
}

/** The members on the list, each with its path, and why the look inside was not complete, if it was not. */
function insideSections(inside: Inside | undefined): Node[] {
  if (!inside) return [];
  const count = insideCount(inside);
  const found =
    inside.matches.length === 0
      ? null
      : h(
          'section',
          { class: 'inside-matches' },
          h('h4', {}, inside.matches.length === 1 ? 'Found inside' : `Found inside (${formatCount(inside.matches.length)} files)`),
          ...inside.matches.map(memberMatchDetails),
        );
  const reasons =
    inside.complete
      ? null
      : h(
          'section',
          { class: 'notice notice-warning inside-incomplete' },
          h('h4', {}, 'What could not be read'),
          h(
            'ul',
            { class: 'inside-reasons' },
            ...inside.reasons.map((r) =>
              h(
                'li',
                { 'data-reason': r.reason },
                h('strong', {}, r.path.length === 0 ? 'The file itself' : memberPlace(r.path)),
                ` is ${INCOMPLETE_REASON_WORDS[r.reason]} (${r.reason}).`,
              ),
            ),
            inside.reasons.length === 0 ? h('li', {}, 'The service did not say why.') : null,
          ),
        );
  return present(found, reasons, count === null ? null : h('p', { class: 'inside-count' }, `${count}.`));
}

/** One file's card, updated in place as the file goes from sending to its verdict. */
export class FileCard {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private progress?: HTMLProgressElement;
  private progressLabel?: HTMLElement;

  constructor(readonly file: File) {
    const titleId = uniqueId('file');
    this.body = h('div', { class: 'card-body' });
    this.element = h(
      'article',
      { class: 'card card-pending', 'aria-labelledby': titleId, 'data-file-name': file.name },
      h(
        'header',
        { class: 'card-header' },
        h('h3', { id: titleId, class: 'card-title' }, file.name || 'Unnamed file'),
        h('span', { class: 'card-size' }, formatBytes(file.size)),
      ),
      this.body,
    );
    this.status('Waiting to be checked…');
  }

  /** A line of status text, with a progress bar when `progress` is given (`null`: busy, no figure). */
  status(text: string, progress?: { loaded: number; total: number } | null): void {
    if (progress === undefined) {
      this.progress = undefined;
      this.body.replaceChildren(h('p', { class: 'status' }, text));
      return;
    }
    if (!this.progress || !this.progressLabel) {
      const id = uniqueId('progress');
      this.progressLabel = h('label', { class: 'status', for: id });
      this.progress = h('progress', { id, max: 100 });
      this.body.replaceChildren(this.progressLabel, this.progress);
    }
    this.progressLabel.textContent = text;
    if (progress === null) this.progress.removeAttribute('value');
    else this.progress.value = progress.total === 0 ? 100 : Math.floor((progress.loaded / progress.total) * 100);
  }

  /** Shows the verdict, what matched and the digests. */
  verdict(verdict: FileVerdict): void {
    const name = this.file.name || 'the file';
    this.element.className = `card card-${verdict.verdict}${isIncomplete(verdict) ? ' card-incomplete' : ''}`;
    const matches =
      verdict.matches.length === 0
        ? null
        : h(
            'section',
            { class: 'matches' },
            h('h4', {}, verdict.matches.length === 1 ? 'What matched' : `What matched (${verdict.matches.length} records)`),
            ...verdict.matches.map(matchDetails),
          );
    this.body.replaceChildren(
      ...present(verdictBanner(verdict), matches),
      ...insideSections(verdict.inside),
      h('section', { class: 'file-digests' }, h('h4', {}, 'Digests'), digests(verdict, name)),
    );
    announce(`${name}: ${announcement(verdict)}.`);
  }

  /** Shows what went wrong in plain words, with a way to try again. */
  problem(message: string, retry?: { label: string; run: () => void }): void {
    this.element.className = 'card card-error';
    const button = retry ? h('button', { type: 'button', class: 'secondary' }, retry.label) : null;
    button?.addEventListener('click', () => retry!.run());
    this.body.replaceChildren(
      ...present(
        h('div', { class: 'notice notice-error' }, h('span', { class: 'notice-icon', 'aria-hidden': 'true' }, '×'), h('p', {}, message)),
        button,
      ),
    );
    announce(`${this.file.name || 'A file'}: ${message}`);
  }
}

/** The verdict in a sentence for screen readers, naming the member that matched and an incomplete look inside. */
function announcement(verdict: FileVerdict): string {
  const inside = verdict.inside;
  if (verdict.verdict === 'malicious') {
    const member = verdict.matches.length === 0 ? inside?.matches[0] : undefined;
    const words = member
      ? `malicious, ${memberPlace(member.path)} inside it is on the known-bad list`
      : 'malicious, on the known-bad list';
    return inside?.complete === false ? `${words}; it could not be fully checked` : words;
  }
  if (inside?.complete === false) return 'could not be fully checked; nothing read so far is on the known-bad list';
  const count = insideCount(inside);
  return count ? `not on the known-bad list, ${count}` : 'not on the known-bad list';
}

/** A pasted line and the service's answer for it. */
export interface LineResult {
  readonly pasted: PastedHash;
  readonly result: BulkResult;
}

function verdictCell(result: BulkResult): HTMLElement {
  if ('error' in result) return h('td', {}, h('span', { class: 'badge badge-invalid' }, 'Invalid'));
  return h(
    'td',
    {},
    h('span', { class: `badge badge-${result.verdict}` }, result.verdict === 'malicious' ? 'Malicious' : 'Not on the list'),
  );
}

function matchCell(result: BulkResult, line: number): HTMLElement {
  if ('error' in result) {
    return h('td', {}, h('strong', { class: 'invalid-line' }, `Invalid hash on line ${line}`), h('br'), h('span', { class: 'muted' }, result.error.message));
  }
  if (!result.match) return h('td', { class: 'muted' }, '—');
  const m = result.match;
  return h(
    'td',
    {},
    h('strong', {}, m.fileName),
    m.version ? ` ${m.version}` : '',
    h('br'),
    h('span', { class: 'muted' }, m.campaign),
    ...(m.derived ? [h('br'), h('span', { class: 'muted' }, `Derived: contains ${m.derived.memberRecord.fileName}`)] : []),
  );
}

/**
 * The results of a pasted list: counts, the invalid lines by number, and a table in input order with a
 * filter that keeps only the lines needing attention.
 */
export function hashResults(rows: readonly LineResult[]): { element: HTMLElement; heading: HTMLElement; summary: string } {
  const counts = { malicious: 0, unknown: 0, invalid: 0 };
  for (const { result } of rows) {
    if ('error' in result) counts.invalid += 1;
    else counts[result.verdict] += 1;
  }
  const total = rows.length;
  const summary =
    `Checked ${formatCount(total)} ${total === 1 ? 'hash' : 'hashes'}: ${formatCount(counts.malicious)} malicious, ` +
    `${formatCount(counts.unknown)} not on the list, ${formatCount(counts.invalid)} invalid.`;
  const heading = h('h3', { tabindex: -1, class: 'results-heading' }, `Results for ${formatCount(total)} ${total === 1 ? 'line' : 'lines'}`);

  const countBox = (kind: keyof typeof counts, label: string) =>
    h('div', { class: `count count-${kind}` }, h('span', { class: 'count-value' }, formatCount(counts[kind])), h('span', { class: 'count-label' }, label));
  const countsElement = h(
    'div',
    { class: 'counts', role: 'group', 'aria-label': 'Counts' },
    countBox('malicious', 'malicious'),
    countBox('unknown', 'not on the list'),
    countBox('invalid', 'invalid'),
  );

  const invalidRows = rows.filter((r) => 'error' in r.result);
  const shownInvalid = invalidRows.slice(0, 20);
  const invalidList =
    invalidRows.length === 0
      ? null
      : h(
          'div',
          { class: 'notice notice-warning' },
          h('p', {}, `${formatCount(invalidRows.length)} ${invalidRows.length === 1 ? 'line is' : 'lines are'} not a hash and ${invalidRows.length === 1 ? 'was' : 'were'} not checked:`),
          h(
            'ul',
            { class: 'invalid-lines' },
            ...shownInvalid.map((r) => h('li', {}, `Invalid hash on line ${r.pasted.line}`, h('span', { class: 'muted' }, ` (${truncate(r.pasted.value, 24)})`))),
            invalidRows.length > shownInvalid.length ? h('li', {}, `and ${formatCount(invalidRows.length - shownInvalid.length)} more, marked in the table`) : null,
          ),
        );

  const tbody = h('tbody');
  for (const { pasted, result } of rows) {
    const kind = 'error' in result ? 'invalid' : result.verdict;
    tbody.append(
      h(
        'tr',
        { class: `row-${kind}`, 'data-line': pasted.line },
        h('td', { class: 'num' }, String(pasted.line)),
        h('td', {}, h('code', { class: 'hash' }, 'error' in result ? pasted.value : result.hash)),
        h('td', { class: 'col-type' }, 'error' in result ? '—' : ALGORITHM_NAMES[result.algorithm]),
        verdictCell(result),
        matchCell(result, pasted.line),
      ),
    );
  }
  const filterId = uniqueId('filter');
  const filter = h('input', { type: 'checkbox', id: filterId });
  const table = h(
    'table',
    { class: 'results-table' },
    h('caption', { class: 'visually-hidden' }, 'One row per pasted line, in the order pasted'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col', class: 'num' }, 'Line'),
        h('th', { scope: 'col', class: 'col-hash' }, 'Hash'),
        h('th', { scope: 'col', class: 'col-type' }, 'Type'),
        h('th', { scope: 'col', class: 'col-verdict' }, 'Verdict'),
        h('th', { scope: 'col' }, 'What matched'),
      ),
    ),
    tbody,
  );
  filter.addEventListener('change', () => table.classList.toggle('attention-only', filter.checked));
  const element = h(
    'div',
    { class: 'hash-report' },
    heading,
    h('p', { class: 'summary' }, summary),
    countsElement,
    invalidList,
    h('p', { class: 'filter' }, filter, h('label', { for: filterId }, ' Show only malicious and invalid lines')),
    h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'Results table' }, table),
  );
  return { element, heading, summary };
}

function present(...nodes: (Node | null)[]): Node[] {
  return nodes.filter((n): n is Node => n !== null);
}

function truncate(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}
