/**
 * What rspamd does with an answer, as `../shared/docs/integrations.md` records it from rspamd's own
 * scanners (lualib/lua_scanners/virustotal.lua and metadefender.lua), so tests can check our answers by
 * the outcome a gateway would see rather than by our own reading of them.
 */
export type RspamdOutcome = 'clean' | 'low' | 'medium' | 'high' | 'fail';

/** rspamd's `virustotal` scanner: 404 clean, 204 rate limited (fail), other non-200 or bad JSON fail. */
export function virusTotalOutcome(status: number, text: string): RspamdOutcome {
  if (status === 404) return 'clean';
  if (status !== 200) return 'fail';
  let body: { positives?: unknown; total?: unknown; response_code?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    return 'fail';
  }
  if (typeof body.positives !== 'number') return body.response_code === 0 ? 'clean' : 'fail';
  // rspamd 3.x: VIRUSTOTAL_HIGH from 10 positives, MEDIUM from 5, LOW from 3.
  if (body.positives >= 10) return 'high';
  if (body.positives >= 5) return 'medium';
  if (body.positives >= 3) return 'low';
  return 'clean';
}

/**
 * rspamd's `metadefender` scanner: 404 clean, 401 and 429 fail, 200 reads `scan_all_result_i` and counts
 * engines with `threat_found`; full score above 7 engines, nothing under 3.
 */
export function metaDefenderOutcome(status: number, text: string): RspamdOutcome {
  if (status === 404) return 'clean';
  if (status !== 200) return 'fail';
  let body: { scan_results?: { scan_all_result_i?: unknown; scan_details?: Record<string, { threat_found?: unknown }> } };
  try {
    body = JSON.parse(text);
  } catch {
    return 'fail';
  }
  const results = body.scan_results;
  if (!results || results.scan_all_result_i === undefined) return 'fail';
  if (results.scan_all_result_i === 0) return 'clean';
  // Lua takes any value but nil and false as true, the empty string included.
  const positives = Object.values(results.scan_details ?? {}).filter((engine) => engine.threat_found !== undefined && engine.threat_found !== null && engine.threat_found !== false).length;
  if (positives < 3) return 'clean';
  if (positives > 7) return 'high';
  return 'medium';
}

/** The keys of an rspamd map as rspamd reads it: one per line, `#` starts a comment, blank lines ignored. */
export function mapKeys(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
}

/** One README snippet meant for an rspamd configuration file. */
export interface RspamdSnippet {
  /** The file below `/etc/rspamd/` it belongs in, e.g. `local.d/antivirus.conf`. */
  file: string;
  /** The block's text, the file-naming comment line included. */
  text: string;
}

/**
 * The README's rspamd snippets: every fenced block whose first line is a comment naming a file under
 * `/etc/rspamd/` (`# /etc/rspamd/local.d/antivirus.conf`), in README order.
 */
export function readmeRspamdSnippets(readme: string): RspamdSnippet[] {
  return [...readme.matchAll(/^```[^\n]*\n(# \/etc\/rspamd\/(\S+)\n[\s\S]*?)^```/gm)].map((m) => ({ file: m[2]!, text: m[1]! }));
}
