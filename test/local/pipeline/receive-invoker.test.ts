import { DecisionRecorder } from '../../../local/pipeline/receive-invoker';

describe('receive-invoker', () => {
  describe('DecisionRecorder', () => {
    it('keeps the recipient decisions the use case logs, by message id, until taken', () => {
      const forwarded: string[] = [];
      const sink = { info: (m: string) => void forwarded.push(m), warn: () => undefined, error: () => undefined };
      const recorder = new DecisionRecorder(sink);
      recorder.info('recipient decision', { messageId: 'm1', ruleId: 'r1', action: 'bounce', recipient: 'a@example.com' });
      recorder.info('recipient decision', { messageId: 'm2', action: 'default', recipient: 'b@example.com' });
      recorder.info('bounce queued', { messageId: 'm1', recipients: 1 });
      expect(recorder.take('m1')).toEqual([{ recipient: 'a@example.com', action: 'bounce', ruleId: 'r1' }]);
      expect(recorder.take('m1')).toEqual([]);
      expect(forwarded).toEqual(['recipient decision', 'recipient decision', 'bounce queued']);
      expect(recorder.take('m2')).toEqual([{ recipient: 'b@example.com', action: 'default' }]);
    });
  });
});
