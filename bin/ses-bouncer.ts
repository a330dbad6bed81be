#!/usr/bin/env node
/**
 * CDK app entry (`npx cdk synth` / `deploy`). Settings come from the
 * `ses-bouncer:*` context keys; AWS Solutions checks (cdk-nag) run on synth and
 * fail it on any finding that is not acknowledged with a reason.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../lambda/commons/errors';
import { SesBouncerStack } from '../lib/ses-bouncer-stack';

try {
  // autoSynth off: after an error the CLI's exit hook must not synthesize a half-built app.
  const app = new App({ autoSynth: false });
  new SesBouncerStack(app, 'SesBouncer', {
    description: 'ses-bouncer: rule-driven SendBounce for mail received by Amazon SES',
    // No env: the template is account- and Region-agnostic (AWS::AccountId and
    // AWS::Region resolve at deploy time), so synth needs no credentials or lookups.
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
} catch (err) {
  // A setting the user typed is wrong or missing: one line naming it, no stack trace.
  if (!(err instanceof ConfigError)) throw err;
  console.error(`ses-bouncer: ${err.message}`);
  process.exitCode = 1;
}
