/** One file attached to a test message. */
export interface Attachment {
  readonly name: string;
  readonly type: string;
  readonly bytes: Buffer;
}

/**
 * A mail message as a gateway hands it over (`message/rfc822`): `multipart/mixed`, an optional plain-text body
 * first, then each file as a base64 attachment in lines of 76 characters. MIME parts are numbered from 1, so
 * with `text` the first attachment is part 2.
 */
export function mailWith(attachments: readonly Attachment[], options: { text?: string; subject?: string } = {}): Buffer {
  const lines = [
    'From: sender@example.com',
    'To: soc@example.com',
    `Subject: ${options.subject ?? 'invoice'}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
  ];
  if (options.text !== undefined) lines.push('--b1', 'Content-Type: text/plain', '', options.text);
  for (const { name, type, bytes } of attachments) {
    lines.push(
      '--b1',
      `Content-Type: ${type}`,
      `Content-Disposition: attachment; filename="${name}"`,
      'Content-Transfer-Encoding: base64',
      '',
      bytes.toString('base64').replace(/.{76}/g, '$&\r\n'),
    );
  }
  lines.push('--b1--', '');
  return Buffer.from(lines.join('\r\n'));
}
