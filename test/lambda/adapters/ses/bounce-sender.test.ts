import { SESClient } from '@aws-sdk/client-ses';
import { SesBounceSender, toSendBounceError } from '../../../../lambda/adapters/ses/bounce-sender';
import { buildBounceRequest } from '../../../../lambda/domain/bounce/build-request';
import {
  MessageRejectedError,
  PermanentSendError,
  SendOutcomeUnknownError,
  ThrottledError,
  TransientSendError,
} from '../../../../lambda/ports/bounce-sender';
import type { BounceJob } from '../../../../lambda/ports';
import { startSesStandIn } from '../../../../local/ses-stand-in';
import type { SesStandIn } from '../../../../local/ses-stand-in/types';

const job: BounceJob = {
  messageId: 'ses-msg-1',
  receivedAt: new Date(Date.now() - 60_000).toISOString(),
  sender: 'alice@sender.example',
  recipients: [
    { recipient: 'bob@example.com', ruleId: 'r1', bounce: { bounceType: 'DoesNotExist', status: '5.1.1', action: 'failed', diagnosticCode: '550 5.1.1 unknown', explanation: 'No such person.' } },
    { recipient: 'carol@example.com', ruleId: 'r2', bounce: { bounceType: 'TemporaryFailure', status: '4.2.2', action: 'delayed' } },
  ],
};
const request = buildBounceRequest(job, { bounceSender: 'mailer-daemon@example.com', reportingMta: 'mx.example.com' });

/** The client the functions use: one attempt, so a Throttling reaches the adapter. */
function sesClient(endpoint: string): SESClient {
  return new SESClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
}

describe('bounce-sender (ses)', () => {
  let standIn: SesStandIn;
  let sender: SesBounceSender;

  beforeEach(async () => {
    standIn = await startSesStandIn({ minIntervalMs: 1000 });
    standIn.registerReceived(job.messageId, { receivedAt: new Date(job.receivedAt), sender: job.sender });
    sender = new SesBounceSender(sesClient(standIn.endpoint));
  });
  afterEach(async () => {
    await standIn.close();
  });

  describe('SesBounceSender.send', () => {
    it('returns SES MessageId and sends the DSN fields on the wire when SES accepts the bounce', async () => {
      const { messageId } = await sender.send(request);
      expect(standIn.calls).toHaveLength(1);
      const call = standIn.calls[0];
      expect(call.outcome).toEqual({ kind: 'accepted', messageId });
      expect(messageId).not.toBe('');
      expect(call.params).toMatchObject({
        OriginalMessageId: 'ses-msg-1',
        BounceSender: 'mailer-daemon@example.com',
        Explanation: 'No such person.',
        'MessageDsn.ReportingMta': 'dns; mx.example.com',
        'BouncedRecipientInfoList.member.1.Recipient': 'bob@example.com',
        'BouncedRecipientInfoList.member.1.RecipientDsnFields.Action': 'failed',
        'BouncedRecipientInfoList.member.1.RecipientDsnFields.Status': '5.1.1',
        'BouncedRecipientInfoList.member.1.RecipientDsnFields.DiagnosticCode': 'smtp; 550 5.1.1 unknown',
        'BouncedRecipientInfoList.member.1.RecipientDsnFields.FinalRecipient': 'bob@example.com',
        'BouncedRecipientInfoList.member.2.RecipientDsnFields.Action': 'delayed',
      });
      expect(new Date(call.params['MessageDsn.ArrivalDate']).toISOString()).toBe(job.receivedAt);
      expect(Object.keys(call.params).some((key) => key.endsWith('.BounceType'))).toBe(false);
    });

    it('throws ThrottledError and does not retry when SES throttles', async () => {
      await sender.send(request);
      await expect(sender.send(request)).rejects.toBeInstanceOf(ThrottledError);
      expect(standIn.calls).toHaveLength(2);
      expect(standIn.calls[1].outcome).toMatchObject({ kind: 'error', code: 'Throttling' });
    });

    it('throws MessageRejectedError when SES rejects the bounce', async () => {
      const error = await sender.send({ ...request, OriginalMessageId: 'never-received' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MessageRejectedError);
      expect((error as MessageRejectedError).code).toBe('MessageRejected');
    });

    it('throws TransientSendError when SES answers 500', async () => {
      standIn.injectFaults(1, { code: 'InternalFailure', status: 500 });
      await expect(sender.send(request)).rejects.toBeInstanceOf(TransientSendError);
      expect(standIn.calls).toHaveLength(1);
    });

    it('throws TransientSendError when SES answers 503 ServiceUnavailable', async () => {
      standIn.injectFaults(1, { code: 'ServiceUnavailable', status: 503 });
      await expect(sender.send(request)).rejects.toBeInstanceOf(TransientSendError);
    });

    it('throws PermanentSendError when SES refuses a parameter', async () => {
      const bad = { ...request, MessageDsn: { ReportingMta: 'not an mta' } };
      const error = await sender.send(bad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentSendError);
      expect((error as PermanentSendError).code).toBe('InvalidParameterValue');
    });

    it('throws TransientSendError when nothing answers', async () => {
      const endpoint = standIn.endpoint;
      await standIn.close();
      await expect(new SesBounceSender(sesClient(endpoint)).send(request)).rejects.toBeInstanceOf(TransientSendError);
      standIn = await startSesStandIn();
    });
  });

  describe('toSendBounceError', () => {
    const answer = (name: string, status: number, message = 'm') =>
      Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });

    it('maps ThrottlingException and a "Maximum sending rate exceeded" message to ThrottledError', () => {
      expect(toSendBounceError(answer('ThrottlingException', 400))).toBeInstanceOf(ThrottledError);
      expect(toSendBounceError(answer('SomethingElse', 400, 'Maximum sending rate exceeded.'))).toBeInstanceOf(ThrottledError);
    });

    it('maps a 4xx other than throttling and rejection to PermanentSendError, keeping the cause', () => {
      const cause = answer('AccessDenied', 403);
      const error = toSendBounceError(cause);
      expect(error).toBeInstanceOf(PermanentSendError);
      expect(error.cause).toBe(cause);
      expect(error.name).toBe('PermanentSendError');
    });

    it('maps a failure before the request left (refused connection, DNS, connect timeout) to TransientSendError', () => {
      expect(toSendBounceError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', syscall: 'connect' }))).toBeInstanceOf(TransientSendError);
      expect(toSendBounceError(Object.assign(new Error('getaddrinfo ENOTFOUND email.invalid'), { code: 'ENOTFOUND', syscall: 'getaddrinfo' }))).toBeInstanceOf(TransientSendError);
      expect(toSendBounceError(new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:9'))).toBeInstanceOf(TransientSendError);
      const noConnection = Object.assign(new Error('the request socket did not establish a connection with the server within the configured timeout of 2000 ms.'), { name: 'TimeoutError' });
      expect(toSendBounceError(noConnection)).toBeInstanceOf(TransientSendError);
    });

    it('maps a lost answer (reset, request timeout, abort, 504, unreadable 2xx) to SendOutcomeUnknownError: SES may have sent it', () => {
      expect(toSendBounceError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBeInstanceOf(SendOutcomeUnknownError);
      expect(toSendBounceError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }))).toBeInstanceOf(SendOutcomeUnknownError);
      // The same code as a refusal, but raised on an established socket: proves nothing.
      expect(toSendBounceError(Object.assign(new Error('read ETIMEDOUT'), { code: 'ETIMEDOUT', syscall: 'read' }))).toBeInstanceOf(SendOutcomeUnknownError);
      expect(toSendBounceError(Object.assign(new Error('a request has exceeded the configured 10000 ms requestTimeout.'), { name: 'TimeoutError', code: 'ETIMEDOUT' }))).toBeInstanceOf(SendOutcomeUnknownError);
      expect(toSendBounceError(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBeInstanceOf(SendOutcomeUnknownError);
      expect(toSendBounceError(answer('GatewayTimeout', 504))).toBeInstanceOf(SendOutcomeUnknownError);
      expect(toSendBounceError(answer('SyntaxError', 200, 'Deserialization error'))).toBeInstanceOf(SendOutcomeUnknownError);
    });
  });
});
