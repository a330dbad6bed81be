#!/usr/bin/env node
'use strict';
// `ses-bouncer` entry: the CLI is TypeScript, run through tsx's CommonJS
// loader (a devDependency) so there is no build step. Keep this shim tiny:
// everything else lives in cli/main.ts.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs/api').register();
require('./main.ts').main();
