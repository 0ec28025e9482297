import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EICAR, tarOf, zipOf } from '../support/archives.js';
import { fetchJson, startTestServer } from '../support/local-server.js';
import { multipartBody } from '../support/multipart.js';
import { mailWith } from '../support/mail.js';

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.stop();
});

const postFile = (body: Buffer, headers: Record<string, string> = {}) =>
  fetchJson(`${server.url}/v1/files`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', ...headers }, body });

describe('POST /v1/files looks inside archives', () => {
  it('answers a raw ZIP holding EICAR malicious, naming the member, its path and its record', async () => {
    const { status, body } = await postFile(zipOf({ 'tools/eicar.com': EICAR, 'readme.txt': 'hello' }), { 'x-file-name': 'tools.zip' });
    expect(status).toBe(200);
    const [file] = body.files;
    expect(file).toMatchObject({ fileName: 'tools.zip', verdict: 'malicious', matches: [] });
    expect(file.inside).toMatchObject({ members: 2, containers: 1, complete: true, reasons: [] });
    expect(file.inside.matches).toEqual([
      expect.objectContaining({ path: ['tools/eicar.com'], size: 68, md5: '44d88612fea8a8f36de82e1278abb02f', matches: [expect.objectContaining({ kind: 'test-file' })] }),
    ]);
  });

  it('follows a multipart part through a ZIP in a tar.gz in a ZIP', async () => {
    const nested = zipOf({ 'setup.tar.gz': tarOf({ 'inner.zip': zipOf({ 'bin/ffmpeg.dll': EICAR }) }, 'gzip') });
    const form = multipartBody([{ field: 'file', fileName: 'installer.zip', content: nested }]);
    const { status, body } = await fetchJson(`${server.url}/v1/files`, { method: 'POST', headers: { 'content-type': form.contentType }, body: form.body });
    expect(status).toBe(200);
    expect(body.files[0].verdict).toBe('malicious');
    expect(body.files[0].inside.matches.map((m: any) => m.path)).toEqual([['setup.tar.gz', 'setup.tar', 'inner.zip', 'bin/ffmpeg.dll']]);
  });

  it('answers a file that is no container complete with no members, and an encrypted ZIP incomplete', async () => {
    const plain = await postFile(Buffer.from('plain text, nothing inside'));
    expect(plain.body.files[0].inside).toEqual({ members: 0, containers: 0, complete: true, reasons: [], matches: [] });
    const locked = await postFile(zipOf({ 'eicar.com': EICAR }, { password: 'secret' }));
    expect(locked.body.files[0]).toMatchObject({ verdict: 'unknown', inside: { complete: false, reasons: [{ reason: 'encrypted', path: ['eicar.com'] }] } });
  });

  it('opens a zipped attachment of a whole message', async () => {
    const message = mailWith([{ name: 'invoice.zip', type: 'application/zip', bytes: zipOf({ 'invoice.exe': EICAR }) }], {
      text: 'Please find the invoice attached.',
    });
    const { status, body } = await fetchJson(`${server.url}/v1/files`, { method: 'POST', headers: { 'content-type': 'message/rfc822' }, body: message });
    expect(status).toBe(200);
    expect(body.files).toHaveLength(1);
    expect(body.files[0]).toMatchObject({ fileName: 'invoice.zip', mimePath: '2', verdict: 'malicious', inside: { complete: true, members: 1 } });
    expect(body.files[0].inside.matches[0].path).toEqual(['invoice.exe']);
  });

  it('answers /v1/health while a large archive is being opened', async () => {
    // Thousands of members: 7-Zip extracts them in its worker thread while this server keeps answering.
    const files: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) files[`m/${i}.txt`] = `member ${i}`;
    const archive = zipOf(files);
    let scanDone = false;
    const scan = postFile(archive).then((answer) => {
      scanDone = true;
      return answer;
    });
    // The health answer comes back first: the event loop is not held by the extraction.
    const health = await fetchJson(`${server.url}/v1/health`);
    expect(health.status).toBe(200);
    expect(scanDone).toBe(false);
    const { status, body } = await scan;
    expect(status).toBe(200);
    expect(body.files[0].inside).toMatchObject({ members: 2000, complete: true });
  });
});
