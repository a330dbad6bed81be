import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import nodemailer from 'nodemailer';
import { fullGc } from '../../../bench/lib/heap';
import { ValidationError } from '../../../lambda/commons/errors';
import { HEAD_BYTES, recipientMatcher, startSmtpReceiver, type ReceivedMail, type SmtpReceiver } from '../../../local/smtp/smtp-receiver';

/** Buffer memory in use after a full collection (what the process holds, not what it has yet to collect). */
function settledBufferBytes(): number {
  fullGc();
  fullGc();
  return process.memoryUsage().arrayBuffers;
}

/** A bare SMTP dialogue, to see each reply code exactly as a client would. */
class Dialogue {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffer += d;
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  static async open(port: number): Promise<Dialogue> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const d = new Dialogue(socket);
    await d.reply();
    return d;
  }

  /** The next complete reply (last line has a space after the code). */
  async reply(): Promise<string> {
    for (;;) {
      const lines = this.buffer.split('\r\n');
      const end = lines.findIndex((l) => /^\d{3} /.test(l));
      if (end >= 0) {
        const reply = lines.slice(0, end + 1).join('\n');
        this.buffer = lines.slice(end + 1).join('\r\n');
        return reply;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async say(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  /**
   * Sends a body of `bytes` bytes (after a Subject line) as 1000-byte lines,
   * written as the socket drains, then the final dot; resolves with the reply.
   * `onProgress` runs after every 8 MiB written.
   */
  async data(bytes: number, onProgress: () => void = () => undefined): Promise<string> {
    const line = `${'y'.repeat(998)}\r\n`;
    const chunk = Buffer.from(line.repeat(64));
    let sent = 0;
    let nextProgress = 8 * 1024 * 1024;
    this.socket.write('Subject: big\r\n\r\n');
    while (sent < bytes) {
      if (!this.socket.write(chunk)) await new Promise((r) => this.socket.once('drain', r));
      sent += chunk.length;
      if (sent >= nextProgress) {
        onProgress();
        nextProgress += 8 * 1024 * 1024;
      }
    }
    return this.say('.');
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('smtp-receiver', () => {
  describe('recipientMatcher', () => {
    const matches = recipientMatcher(['example.com', 'solo@other.example', '.sub.example']);

    it('accepts any address at a receiving domain, in any case', () => {
      expect(matches('Former@EXAMPLE.com')).toBe(true);
    });

    it('accepts an exact receiving address only', () => {
      expect(matches('solo@other.example')).toBe(true);
      expect(matches('else@other.example')).toBe(false);
    });

    it('accepts subdomains only for a leading-dot entry', () => {
      expect(matches('a@x.sub.example')).toBe(true);
      expect(matches('a@sub.example')).toBe(false);
      expect(matches('a@mail.example.com')).toBe(false);
    });

    it('refuses an address without a domain', () => {
      expect(matches('example.com')).toBe(false);
    });
  });

  describe('startSmtpReceiver', () => {
    let receiver: SmtpReceiver;
    /** What the callback saw: the mail, and its spooled file's content read while the file existed. */
    let received: Array<ReceivedMail & { content: Buffer }>;
    let fail: Error | undefined;

    const start = (maxMessageBytes: number) =>
      startSmtpReceiver({
        port: 0,
        accepts: recipientMatcher(['example.com']),
        maxMessageBytes,
        onMessage: async (mail) => {
          if (fail) throw fail;
          received.push({ ...mail, content: await readFile(mail.file) });
          return { messageId: `id-${received.length}` };
        },
      });

    beforeEach(async () => {
      received = [];
      fail = undefined;
      receiver = await start(64 * 1024);
    });

    afterEach(async () => {
      await receiver.close();
    });

    it('hands the raw message and envelope to the callback and answers 250 with the message id when a client sends mail', async () => {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: receiver.port, secure: false, ignoreTLS: true });
      const info = await transport.sendMail({
        envelope: { from: 'alice@sender.example', to: ['former@example.com', 'b@example.com'] },
        from: 'alice@sender.example',
        to: 'former@example.com',
        subject: 'Hello over SMTP',
        text: 'body',
      });
      transport.close();
      expect(info.response).toBe('250 2.0.0 Ok id-1');
      expect(received).toHaveLength(1);
      expect(received[0].envelope).toEqual({ mailFrom: 'alice@sender.example', rcptTo: ['former@example.com', 'b@example.com'] });
      expect(received[0].content.toString()).toContain('Subject: Hello over SMTP');
      expect(received[0].size).toBe(received[0].content.length);
      expect(received[0].head.equals(received[0].content)).toBe(true);
      expect(existsSync(received[0].file)).toBe(false);
      expect(received[0].client.address).toMatch(/127\.0\.0\.1/);
    });

    it('refuses a recipient outside the receiving domains with 550 5.1.1 at RCPT TO', async () => {
      const d = await Dialogue.open(receiver.port);
      expect(await d.say('EHLO client.example')).toMatch(/^250/);
      expect(await d.say('MAIL FROM:<alice@sender.example>')).toMatch(/^250/);
      expect(await d.say('RCPT TO:<nobody@elsewhere.example>')).toBe('550 5.1.1 <nobody@elsewhere.example>: Recipient address rejected');
      expect(await d.say('RCPT TO:<former@example.com>')).toMatch(/^250/);
      d.close();
    });

    it('accepts the null reverse-path and passes it on as an empty sender', async () => {
      const d = await Dialogue.open(receiver.port);
      await d.say('EHLO client.example');
      expect(await d.say('MAIL FROM:<>')).toMatch(/^250/);
      expect(await d.say('RCPT TO:<former@example.com>')).toMatch(/^250/);
      expect(await d.say('DATA')).toMatch(/^354/);
      expect(await d.say('Subject: dsn\r\n\r\nx\r\n.')).toMatch(/^250 2\.0\.0 Ok id-1$/);
      d.close();
      expect(received[0].envelope.mailFrom).toBe('');
    });

    it('answers 554 5.6.0 with the reason when the callback rejects the message as invalid', async () => {
      fail = new ValidationError('unknown verdict status "MAYBE" for spf');
      const d = await Dialogue.open(receiver.port);
      await d.say('EHLO client.example');
      await d.say('MAIL FROM:<a@sender.example>');
      await d.say('RCPT TO:<former@example.com>');
      await d.say('DATA');
      expect(await d.say('Subject: x\r\n\r\nx\r\n.')).toBe('554 5.6.0 unknown verdict status "MAYBE" for spf');
      d.close();
    });

    it('answers 451 so the client retries when processing fails otherwise', async () => {
      fail = new Error('s3 unavailable');
      const d = await Dialogue.open(receiver.port);
      await d.say('EHLO client.example');
      await d.say('MAIL FROM:<a@sender.example>');
      await d.say('RCPT TO:<former@example.com>');
      await d.say('DATA');
      expect(await d.say('Subject: x\r\n\r\nx\r\n.')).toMatch(/^451 4\.3\.0 .*s3 unavailable/);
      d.close();
    });

    it('closes within a couple of seconds even when a client stays connected', async () => {
      const d = await Dialogue.open(receiver.port);
      await d.say('EHLO client.example');
      const started = Date.now();
      await receiver.close();
      expect(Date.now() - started).toBeLessThan(3000);
      d.close();
    });

    it('refuses a message over the size limit with 552 and does not process it', async () => {
      const d = await Dialogue.open(receiver.port);
      await d.say('EHLO client.example');
      await d.say('MAIL FROM:<a@sender.example>');
      await d.say('RCPT TO:<former@example.com>');
      await d.say('DATA');
      const big = `Subject: big\r\n\r\n${'y'.repeat(998)}\r\n`.repeat(80);
      expect(await d.say(`${big}.`)).toMatch(/^552 5\.3\.4/);
      d.close();
      expect(received).toHaveLength(0);
    });

    describe('defect 16 (issue 12): DATA is streamed to disk, never buffered whole', () => {
      const MiB = 1024 * 1024;

      /** A receiver with the 40 MiB limit and a session that has given its envelope. */
      async function envelopeOnFreshReceiver(): Promise<Dialogue> {
        await receiver.close();
        receiver = await start(40 * MiB);
        const d = await Dialogue.open(receiver.port);
        await d.say('EHLO client.example');
        await d.say('MAIL FROM:<a@sender.example>');
        await d.say('RCPT TO:<former@example.com>');
        return d;
      }

      it('refuses a 60 MiB DATA over the 40 MiB limit with 552 while holding less than 8 MiB of it, and leaves nothing spooled', async () => {
        const d = await envelopeOnFreshReceiver();
        try {
          expect(await d.say('DATA')).toMatch(/^354/);
          const before = settledBufferBytes();
          let peak = 0;
          const reply = await d.data(60 * MiB, () => (peak = Math.max(peak, settledBufferBytes() - before)));
          peak = Math.max(peak, settledBufferBytes() - before);
          expect(reply).toBe(`552 5.3.4 message exceeds the ${40 * MiB}-byte limit`);
          // Before the fix every chunk was kept until the final dot: 40 MiB and more held at the limit.
          expect(peak).toBeLessThan(8 * MiB);
          expect(received).toHaveLength(0);
          expect(await readdir(receiver.spoolDir)).toEqual([]);
          // The session goes on: the next message is taken.
          await d.say('MAIL FROM:<a@sender.example>');
          await d.say('RCPT TO:<former@example.com>');
          await d.say('DATA');
          expect(await d.say('Subject: small\r\n\r\nx\r\n.')).toMatch(/^250 2\.0\.0 Ok id-1$/);
        } finally {
          d.close();
        }
      });

      it('hands a 12 MiB message over whole as a spooled file with its first bytes in memory, and removes the file afterwards', async () => {
        const d = await envelopeOnFreshReceiver();
        try {
          await d.say('DATA');
          expect(await d.data(12 * MiB)).toMatch(/^250 2\.0\.0 Ok id-1$/);
        } finally {
          d.close();
        }
        const [mail] = received;
        expect(mail.size).toBe(mail.content.length);
        expect(mail.size).toBeGreaterThan(12 * MiB);
        expect(mail.content.subarray(0, 19).toString()).toBe('Subject: big\r\n\r\nyyy');
        expect(mail.content.subarray(-1000).toString()).toBe(`${'y'.repeat(998)}\r\n`);
        expect(mail.head.length).toBe(HEAD_BYTES);
        expect(mail.head.equals(mail.content.subarray(0, HEAD_BYTES))).toBe(true);
        expect(await readdir(receiver.spoolDir)).toEqual([]);
      });
    });
  });
});
