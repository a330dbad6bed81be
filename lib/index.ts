/**
 * ses-bouncer as a construct library: `new SesBouncer(this, 'Bouncer', {...})`
 * in any CDK stack. The functions ship pre-built (dist/functions), so a
 * consumer's synth bundles nothing.
 */
export { SesBouncer, SERVICE_NAME } from './ses-bouncer-construct';
export { SENDER_AUTH_POLICIES, type InvocationType, type SesBouncerProps } from './props';
export { SesBouncerStack, type SesBouncerStackProps } from './ses-bouncer-stack';
export { CONTEXT_KEYS, CONTEXT_PREFIX, readContext, type ContextKey } from './context';
export { FUNCTIONS, PACKAGE_VERSION, functionAssetDir, type FunctionName } from './assets';
export { METRICS_NAMESPACE, MetricName } from '../lambda/commons/metric-names';
export { ConfigError } from '../lambda/commons/errors';
