/**
 * The stack-wide shadow switch (construct prop `shadow`, config SHADOW_MODE):
 * for a first deployment on a live domain, every bounce and drop becomes a
 * shadow match and nothing is rejected.
 */
import { MAX_SHADOW_MATCHES, type GuardVerdict, type RecipientDecision, type ShadowMatch } from '../model';

/**
 * Turns every bounce and drop decision into the default (deliver) carrying
 * the decision as a shadow match marked `stackWide`, after the shadow rules
 * that matched before it. Evaluation is not re-run: the rule that decided is
 * exactly the one that would decide with the switch off, so the record shows
 * what enforcing would do. Allow and default decisions (held ones included)
 * are unchanged. The stack-wide match is kept even when the shadow rules'
 * list is full: it is the one that would really have decided.
 */
export function shadowAll(decisions: readonly RecipientDecision[]): RecipientDecision[] {
  return decisions.map((d) => {
    if (d.action !== 'bounce' && d.action !== 'drop') return d;
    const match: ShadowMatch = { ruleId: d.ruleId, action: d.action, stackWide: true };
    return {
      recipient: d.recipient,
      action: 'default',
      defaultAction: 'deliver',
      shadow: [...(d.shadow ?? []).slice(0, MAX_SHADOW_MATCHES), match],
    };
  });
}

/**
 * One shadow match as local mode's decision lines, `ses-bouncer test` and
 * `explain` show it: `shadow=<rule> would-bounce guard=ok`, with `stack-wide`
 * when the switch made it one, the guard's reasons when it would have
 * refused, and the budget when it would have stopped the bounce. A drop
 * consults neither guard nor budget. Without a verdict the guard is not shown.
 */
export function shadowText(
  match: ShadowMatch,
  verdict?: { readonly guard: GuardVerdict; readonly budget?: 'within' | 'spent' | 'unavailable' | 'not-checked' },
): string {
  const parts = [`shadow=${match.ruleId}`, `would-${match.action}`];
  if (match.stackWide) parts.push('stack-wide');
  if (match.action === 'bounce' && verdict) {
    parts.push(`guard=${verdict.guard.allowed ? 'ok' : verdict.guard.reasons.join('+')}`);
    if (verdict.guard.allowed && (verdict.budget === 'spent' || verdict.budget === 'unavailable')) parts.push(`budget=${verdict.budget}`);
  }
  return parts.join(' ');
}
