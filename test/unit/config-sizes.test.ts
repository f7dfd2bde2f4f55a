/**
 * The property suites (wiring, policy, schema, generated PromQL, network policies) on one service
 * and on five: each derives what it expects from the config it synthesizes, so adding or removing
 * a chat service needs no test edit. The default config runs them in their own test files.
 */
import { ChartConfig } from '../../lib/config';
import { FIVE_SERVICES, ONE_SERVICE } from './properties/configs';
import { generatedPromqlProperties } from './properties/generated-promql';
import { networkPolicyProperties } from './properties/network-policies';
import { policyProperties } from './properties/policy';
import { schemaProperties } from './properties/schema';
import { wiringProperties } from './properties/wiring';

const configs: [string, ChartConfig][] = [['one service', ONE_SERVICE()], ['five services', FIVE_SERVICES()]];

it('runs on configs of one and five chat services', () => {
  expect(configs.map(([, c]) => c.services.length)).toEqual([1, 5]);
});

for (const [name, config] of configs) {
  wiringProperties(name, config);
  policyProperties(name, config);
  schemaProperties(name, config);
  generatedPromqlProperties(name, config);
  networkPolicyProperties(name, config);
}
