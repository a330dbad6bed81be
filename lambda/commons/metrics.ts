import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from './metric-names';

export { METRICS_NAMESPACE, MetricName } from './metric-names';

/** The one metrics instance; handlers flush it with `publishStoredMetrics()`. */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'ses-bouncer' });

export { MetricUnit };
