import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME } from './metric-names';

export { METRICS_NAMESPACE, MetricName } from './metric-names';

/** The one metrics instance; handlers flush it with `publishStoredMetrics()`. */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

export { MetricUnit };
