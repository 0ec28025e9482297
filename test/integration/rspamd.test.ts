import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/local-server.js';
import { pollUntil } from '../support/poll.js';
import { EICAR } from '../support/reference.js';
import { rspamdVersion, startRspamd, type RspamdInstance, type RspamdResult } from '../support/rspamd-process.js';
import { readmeRspamdSnippets } from '../support/rspamd.js';

/** Debian's rspamd package, which .ci/run installs; CI must not pass without it. */
const VERSION = rspamdVersion();
const IN_CI = process.env['CI'] === 'true';
const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const KEY = 'rspamd-gateway-key';
const MULTIMAP_SYMBOL = 'HASHCHECK_KNOWN_BAD_ATTACHMENT';

if (!VERSION && !IN_CI) {
  console.warn('rspamd tests skipped: rspamd is not installed here (apt-get install rspamd); CI installs it and runs them.');
}

/** A plain, well-formed message from one person to another with one attachment, as an MTA hands it to rspamd. */
function message(fileName: string, attachment: string): string {
  return [
    'From: Alice Sender <alice@example.org>',
    'To: Bob Receiver <bob@example.net>',
    'Subject: The file we talked about',
    'Date: Tue, 01 Dec 2026 10:00:00 +0000',
    `Message-ID: <${fileName}.1@example.org>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="part-boundary"',
    '',
    '--part-boundary',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello Bob,',
    '',
    'here is the file we talked about this morning.',
    '',
    'Alice',
    '',
    '--part-boundary',
    `Content-Type: application/octet-stream; name="${fileName}"`,
    `Content-Disposition: attachment; filename="${fileName}"`,
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(attachment, 'latin1').toString('base64'),
    '--part-boundary--',
    '',
  ].join('\r\n');
}

// A neutral name and type: nothing but the attachment's content is known-bad.
const KNOWN_BAD = message('quarterly.bin', EICAR);
const HARMLESS = message('notes.bin', 'Meeting notes: the budget is approved, next review in March.\n');

describe.runIf(!VERSION && IN_CI)('rspamd in CI', () => {
  it('is installed, since .ci/run installs rspamd', () => {
    expect.fail('rspamd is missing: .ci/run must install the rspamd package so the README’s rspamd files are checked by rspamd itself');
  });
});

describe.runIf(VERSION)(`the README’s rspamd files, pasted into a stock Debian rspamd (${VERSION})`, () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let rspamd: RspamdInstance;

  beforeAll(async () => {
    // A server started as `npm start` starts it: rspamd sends `Host: 127.0.0.1` without the port.
    server = await startTestServer({ apiKeys: [KEY] });
    // As the operator pastes them, placeholders filled in; the MetaDefender scanner is not in rspamd 3.4.
    const localFiles: Record<string, string> = {};
    for (const snippet of readmeRspamdSnippets(README)) {
      if (snippet.text.includes('type = "metadefender"')) continue;
      const text = snippet.text.replaceAll('HASHCHECK_URL', server.url).replaceAll('HASHCHECK_KEY', KEY);
      localFiles[snippet.file] = `${localFiles[snippet.file] ?? ''}${text}`;
    }
    rspamd = await startRspamd({
      localFiles,
      // A fresh rspamd's scanning worker sees a map the controller fetched at its next map check: make that soon.
      testOptions: 'map_watch_interval = 1s;',
    });
  }, 240_000);

  afterAll(async () => {
    await rspamd?.stop();
    await server?.stop();
  }, 60_000);

  /** Scans until `done` holds for the result (rspamd loads HTTP maps in the background), or fails with the last one. */
  async function scanUntil(text: string, settings: Record<string, unknown> | undefined, done: (r: RspamdResult) => boolean, what: string) {
    let last: RspamdResult | undefined;
    try {
      return await pollUntil(
        async () => {
          last = await rspamd.scan(text, settings);
          return done(last) ? last : undefined;
        },
        90_000,
        what,
      );
    } catch (error) {
      // rspamd's own lines about the service (map fetches, scanner answers) say why, when it is the service.
      throw new Error(`${(error as Error).message}; last result: ${JSON.stringify(last)}\nrspamd's log about ${server.url}:\n${await rspamd.logTail(20, server.url.replace('http://', ''))}`);
    }
  }

  it('reads the files into rspamd: the README names local.d/antivirus.conf, antivirus_group.conf and multimap.conf', () => {
    expect([...new Set(readmeRspamdSnippets(README).map((s) => s.file))].sort()).toEqual([
      'local.d/antivirus.conf',
      'local.d/antivirus_group.conf',
      'local.d/multimap.conf',
    ]);
  });


  it('passes rspamadm configtest with the README’s files in local.d', () => {
    expect(rspamd.configtest.status, rspamd.configtest.output).toBe(0);
    expect(rspamd.configtest.output).toContain('syntax OK');
  });

  it('rejects a message with a known-bad attachment through the VirusTotal scanner alone, naming its MD5 and 10/10', async () => {
    const result = await rspamd.scan(KNOWN_BAD, { symbols_disabled: [MULTIMAP_SYMBOL] });
    expect(result.symbols['VIRUSTOTAL'], JSON.stringify(result)).toBeDefined();
    expect(result.symbols['VIRUSTOTAL']!.options).toEqual([`${createHash('md5').update(EICAR, 'latin1').digest('hex')}:10/10`]);
    expect(result.symbols['VIRUSTOTAL']!.score).toBeGreaterThan(0);
    expect(result.action).toBe('reject');
  });

  it('rejects a message with a known-bad attachment through the multimap alone, once rspamd has the list', async () => {
    const result = await scanUntil(KNOWN_BAD, { symbols_disabled: ['VIRUSTOTAL'] }, (r) => MULTIMAP_SYMBOL in r.symbols, `${MULTIMAP_SYMBOL} to fire`);
    expect(result.symbols['VIRUSTOTAL']).toBeUndefined();
    expect(result.action).toBe('reject');
  }, 120_000);

  it('rejects a message with a known-bad attachment with both rules as pasted', async () => {
    // Whichever rule answers first forces the action, and rspamd then skips what has not run yet.
    const result = await scanUntil(KNOWN_BAD, undefined, (r) => MULTIMAP_SYMBOL in r.symbols, `${MULTIMAP_SYMBOL} to fire`);
    expect(result.action).toBe('reject');
  }, 120_000);

  it('lets a message with a harmless attachment through: no action, neither symbol', async () => {
    // Only meaningful once the map is loaded: the multimap test above waits for it, and this one checks again.
    await scanUntil(KNOWN_BAD, { symbols_disabled: ['VIRUSTOTAL'] }, (r) => MULTIMAP_SYMBOL in r.symbols, 'the map to be loaded');
    const result = await rspamd.scan(HARMLESS);
    expect(result.symbols['VIRUSTOTAL'], JSON.stringify(result)).toBeUndefined();
    expect(result.symbols['VIRUSTOTAL_FAIL'], JSON.stringify(result)).toBeUndefined();
    expect(result.symbols[MULTIMAP_SYMBOL], JSON.stringify(result)).toBeUndefined();
    expect(result.action).toBe('no action');
  }, 120_000);
});
