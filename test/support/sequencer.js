/**
 * Runs the timing-sensitive suites last. A file marked `@timing-sensitive` in
 * its opening comment asserts real-time spacing between SendBounce calls at the
 * SES stand-in (≥ 1000 ms, no Throttling, a pace). Its consumers, its stand-in
 * and its rate gate share one Node event loop; when another worker synthesizes
 * CDK stacks or seeds 100,000 items beside it on a 2-core machine, the time
 * between a call's start and its arrival at the stand-in grew past the gate's
 * slack (CI saw a 919 ms gap with a 100 ms margin). Last, such files meet only
 * each other, and they mostly sleep until their slots.
 *
 * Everything else keeps jest's own order (previous failures and durations
 * first when jest has them, else the largest files first).
 */
const { readFileSync } = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;

const MARK = '@timing-sensitive';

/** True when the file's opening comment carries the mark. */
function timingSensitive(path) {
  const head = readFileSync(path, 'utf8').slice(0, 4000);
  const opening = head.match(/^\s*\/\*\*?[\s\S]*?\*\//);
  return opening !== null && opening[0].includes(MARK);
}

/** The same order, with the marked tests moved to the end (stable on both sides). */
function markedLast(ordered, isMarked = (t) => timingSensitive(t.path)) {
  const marked = ordered.filter(isMarked);
  return [...ordered.filter((t) => !marked.includes(t)), ...marked];
}

class TimingSensitiveLast extends Sequencer {
  async sort(tests) {
    return markedLast(await super.sort(tests));
  }
}

module.exports = TimingSensitiveLast;
module.exports.timingSensitive = timingSensitive;
module.exports.markedLast = markedLast;
