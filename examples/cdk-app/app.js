#!/usr/bin/env node
'use strict';
/**
 * A consumer's CDK app using ses-bouncer from npm, in plain JavaScript (no
 * build step). It holds what many SES setups already have -- an archive bucket
 * and an active receipt rule set whose rules deliver mail -- and adds two
 * bouncers to it:
 *
 * - Support: its own rule set, storing raw mail in the existing archive bucket
 *   under support/ (no second bucket).
 * - Sales: first in the existing active rule set, before the delivery rules,
 *   invoked RequestResponse so that a message it bounces for every recipient
 *   is stopped (STOP_RULE_SET) and never delivered; it shares Support's state
 *   table, hence one SendBounce rate gate for the account and Region.
 *
 * Replace the names below with yours. `npx cdk synth` needs no credentials.
 * The pack-install test (test/package/pack-install.test.ts) synthesizes this
 * very file against the packed package.
 */
const { App, Stack } = require('aws-cdk-lib');
const s3 = require('aws-cdk-lib/aws-s3');
const ses = require('aws-cdk-lib/aws-ses');
const { RulePosition, SesBouncer } = require('ses-bouncer');

const app = new App();
const stack = new Stack(app, 'Mail');

// What you already have.
const archive = s3.Bucket.fromBucketName(stack, 'Archive', 'example-mail-archive');
const activeRuleSet = ses.ReceiptRuleSet.fromReceiptRuleSetName(stack, 'Active', 'active-rule-set');

const support = new SesBouncer(stack, 'Support', {
  recipients: ['support.example.com'],
  bounceSender: 'mailer-daemon@example.com',
  existingBucket: archive,
  mailPrefix: 'support/',
});

new SesBouncer(stack, 'Sales', {
  recipients: ['sales.example.com'],
  bounceSender: 'mailer-daemon@example.com',
  existingRuleSet: activeRuleSet,
  position: RulePosition.first(),
  invocationType: 'RequestResponse',
  existingStateTable: support.stateTable,
});

app.synth();
