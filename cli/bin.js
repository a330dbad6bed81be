#!/usr/bin/env node
'use strict';
// `ses-bouncer` entry: the CLI is TypeScript, run through tsx's CommonJS
// loader (a devDependency) so there is no build step. Keep this shim tiny:
// everything else lives in cli/main.ts.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
let tsx;
try {
  tsx = require('tsx/cjs/api');
} catch {
  // An installed package ships the construct only, not the CLI's sources and dev dependencies.
  console.error('ses-bouncer: the CLI runs from a checkout of the ses-bouncer repository (npm ci there); the npm package ships the CDK construct only');
  process.exit(1);
}
tsx.register();
require('./main.ts').main();
