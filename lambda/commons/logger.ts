import { Logger } from '@aws-lambda-powertools/logger';
import { SERVICE_NAME } from './metric-names';
import { VERSION } from './version';

export { SERVICE_NAME };

/**
 * The one logger. JSON lines with `messageId` / `ruleId` keys; never a body or
 * a header value. Addresses go through {@link maskAddress} unless the
 * `LOG_ADDRESSES` setting says otherwise. Every line carries the package
 * `version` the function was built from.
 */
export const logger = new Logger({ serviceName: SERVICE_NAME, persistentKeys: { version: VERSION } });

/**
 * Masks an address for logs: `alice@example.com` → `a***@example.com`.
 * The domain stays readable so operators can spot a misbehaving sender domain.
 */
export function maskAddress(address: string, reveal = false): string {
  if (reveal || address === '') return address;
  const at = address.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${address[0]}***${address.slice(at)}`;
}
